#!/usr/bin/env bash
# The run command: installs what is missing, builds the CLI, creates the demo database (offline,
# embedded SQLCipher) and shows the office's day through the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-debian.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kitakontor/target}"
cargo build --release --locked -p kitakontor-cli
K="$CARGO_TARGET_DIR/release/kitakontor"

demo_dir="${KITAKONTOR_DEMO_DIR:-$HOME/.local/share/kitakontor-demo}"
mkdir -p "$demo_dir"
export KITAKONTOR_DB="$demo_dir/demo.db" KITAKONTOR_KEY_FILE="$demo_dir/demo.key"
# Demo only: a fresh demo every run, key in a file (no desktop keyring needed).
rm -f "$KITAKONTOR_DB" "$KITAKONTOR_DB-wal" "$KITAKONTOR_DB-shm" "$KITAKONTOR_KEY_FILE"
"$K" demo
export KITAKONTOR_PASSWORD=kitakontor-demo

echo; echo "== Belegung der nächsten 6 Monate (kitakontor -u leitung occupancy --months 6)"
"$K" -u leitung occupancy --months 6
echo; echo "== Warteliste, erste 12 (kitakontor -u leitung applications list)"
"$K" -u leitung applications list | head -13
echo; echo "== Anwesenheit heute, Gruppen der Erzieherin (kitakontor -u erzieherin attendance day)"
"$K" -u erzieherin attendance day | head -10
echo; echo "== Audit-Kette (kitakontor -u traeger audit verify)"
"$K" -u traeger audit verify
echo
echo "Weiter ausprobieren:"
echo "  export KITAKONTOR_DB=$KITAKONTOR_DB KITAKONTOR_KEY_FILE=$KITAKONTOR_KEY_FILE KITAKONTOR_PASSWORD=kitakontor-demo"
echo "  $K --help"
echo "  $K -u leitung children search mül"
