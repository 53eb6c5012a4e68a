#!/usr/bin/env bash
# The run command: installs what is missing, builds the UI and the desktop app, and starts it
# with demo data (offline, embedded SQLCipher; a fresh demo database each start).
# Without a display (a server, CI) it runs under Xvfb. Log in as e.g. "leitung" or "erzieherin"
# with the password kitakontor-demo; the PIN of every demo account is 1234.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-debian.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kitakontor/target}"
./scripts/build-ui.sh
cargo build --release --locked -p kitakontor-desktop
demo_dir="${KITAKONTOR_DEMO_DIR:-$HOME/.local/share/kitakontor-demo}"
mkdir -p "$demo_dir"
rm -f "$demo_dir/demo.db" "$demo_dir/demo.db-wal" "$demo_dir/demo.db-shm" "$demo_dir/demo.key"
export KITAKONTOR_DB="$demo_dir/demo.db" KITAKONTOR_KEY_FILE="$demo_dir/demo.key" KITAKONTOR_INBOX="$demo_dir/Eingang"
app="$CARGO_TARGET_DIR/release/kitakontor-desktop"
echo "Kitakontor (Demo): Konten leitung, erzieherin, verwaltung, traeger, technik – Passwort kitakontor-demo, PIN 1234"
echo "Eingangsordner für CSV-Importe: $KITAKONTOR_INBOX"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "(kein Bildschirm gefunden: Start unter Xvfb)"
  exec xvfb-run -a -s "-screen 0 1366x768x24" "$app" --demo
fi
exec "$app" --demo
