#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs every test of the workspace.
# Reuses a build cache outside the clone when there is one ($HOME/.cache/kitakontor/target).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-debian.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kitakontor/target}"
export CARGO_TERM_COLOR=never
start=$(date +%s)
cargo build --workspace --all-targets --locked
cargo test --workspace --locked -- --test-threads=2
echo "test.sh: all tests passed in $(( $(date +%s) - start )) s"
