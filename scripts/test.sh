#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs every test: Rust (unit,
# property, service, crash, CLI, app layer, end-to-end in the real window) and the UI's vitest.
# Reuses a build cache outside the clone when there is one ($HOME/.cache/kitakontor/target).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-debian.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kitakontor/target}"
export CARGO_TERM_COLOR=never
start=$(date +%s)
./scripts/build-ui.sh
(cd ui && npm test --silent)
cargo build --workspace --all-targets --locked --features kitakontor-app/ts
cargo test --workspace --locked --features kitakontor-app/ts -- --test-threads=2
# The database key in the real credential store: a private D-Bus session with an unlocked
# gnome-keyring, so the test touches nothing of the machine's own keyring.
dbus-run-session -- bash -c '
  echo -n kitakontor-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  cargo test --locked -p kitakontor-store --features real-keyring --test keyring
'
echo "test.sh: all tests passed in $(( $(date +%s) - start )) s"
