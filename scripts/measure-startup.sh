#!/usr/bin/env bash
# Launch-to-login time of the desktop app (release build, demo database already created):
# the whole process from exec until the login screen is painted, 5 runs, median.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kitakontor/target}"
app="$CARGO_TARGET_DIR/release/kitakontor-desktop"
[ -x "$app" ] || { echo "build first: cargo build --release -p kitakontor-desktop" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export KITAKONTOR_DB="$dir/demo.db" KITAKONTOR_KEY_FILE="$dir/demo.key" KITAKONTOR_INBOX="$dir/in" KITAKONTOR_EXIT_WHEN_READY=1
# One virtual display for all runs, so only the app is timed.
n=99; while [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 1366x768x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
trap 'kill $xvfb; rm -rf "$dir"' EXIT
export DISPLAY=":$n"
sleep 1
# First start creates the demo database (not measured).
"$app" --demo >/dev/null
times=()
for i in 1 2 3 4 5; do
  s=$(date +%s%N)
  out=$("$app" --demo)
  e=$(date +%s%N)
  ms=$(( (e - s) / 1000000 ))
  times+=("$ms")
  echo "run $i: ${ms} ms launch to exit after the login screen painted (in-process: $out)"
done
echo "median: $(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p) ms"
