#!/usr/bin/env bash
# Sync benchmarks in one command (release build, a throwaway PostgreSQL, the hub on loopback):
#   1. a PC pushes 1,000 commands recorded offline,
#   2. a fresh PC's first sync of a facility with 50,000 rows,
#   3. the load generator: 500 simulated PCs pushing at the same time.
# Each on its own facility, so the figures do not mix. Prints the figures (and JSON with --json).
# BENCH_ONLY="push initial load" picks parts; BENCH_ROWS changes the 50,000; BENCH_WRAP prefixes
# the benchmark process (e.g. "perf record -g -o /tmp/perf.data --").
set -euo pipefail
cd "$(dirname "$0")/.."
json=""; [ "${1:-}" = "--json" ] && json="--json"
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kitakontor/target}"
cargo build --release --locked -p kitakontor-hub -p kitakontor-cli
hub="$CARGO_TARGET_DIR/release/kitakontor-hub"
kk="$CARGO_TARGET_DIR/release/kitakontor"

source scripts/lib-pg.sh
pg_start_throwaway bench-sync -c max_connections=300 -c shared_buffers=256MB
port=18443
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
export KITAKONTOR_HUB_LISTEN="127.0.0.1:$port" RUST_LOG=warn
"$hub" migrate >/dev/null
provider=01930000-0000-7000-8000-0000000000a1
declare -A facility=([push]=01930000-0000-7000-8000-0000000000b1 [initial]=01930000-0000-7000-8000-0000000000b2 [load]=01930000-0000-7000-8000-0000000000b3)
declare -A codes=([push]=1 [initial]=2 [load]=500)
for what in push initial load; do
  "$hub" facility add --id "${facility[$what]}" --provider-id "$provider" --provider-name "Träger" \
    --name "Kita Messung $what" --municipality Leipzig --capacity nursery=100,kindergarten=200 >/dev/null
  "$hub" enrol-code --facility "${facility[$what]}" --count "${codes[$what]}" >"$pg_tmp/codes-$what" 2>/dev/null
done
"$hub" serve >"$pg_tmp/hub.log" 2>&1 &
hub_pid=$!
pg_after_stop="kill $hub_pid 2>/dev/null; wait $hub_pid 2>/dev/null || true"
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

bench() { ${BENCH_WRAP:-} "$kk" $json bench --hub "http://127.0.0.1:$port" --codes-file "$pg_tmp/codes-$1" --facility "${facility[$1]}" --provider "$provider" "${@:2}"; }
only="${BENCH_ONLY:-push initial load}"
case " $only " in *" push "*) echo "== 1.000 Offline-Befehle senden"; bench push --what sync-push --commands 1000 ;; esac
case " $only " in *" initial "*) echo "== Erster Abgleich, ${BENCH_ROWS:-50000} Datensätze"; bench initial --what sync-initial --rows "${BENCH_ROWS:-50000}" ;; esac
case " $only " in *" load "*)
  echo "== Hub unter Last: 500 PCs, so schnell wie möglich"; bench load --what hub-load --devices 500 --batch 10 --pushes 10
  # The load test's codes are used up: new PCs for the second run.
  "$hub" enrol-code --facility "${facility[load]}" --count 500 >"$pg_tmp/codes-load" 2>/dev/null
  echo "== Hub unter Last: 500 PCs, ${BENCH_RATE:-2500} Befehle/s angeboten"; bench load --what hub-load --devices 500 --batch 10 --pushes 10 --rate "${BENCH_RATE:-2500}" ;;
esac
