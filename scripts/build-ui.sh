#!/usr/bin/env bash
# Installs the UI's npm packages (exactly the lock file) and builds ui/dist, which the desktop
# binary embeds. Skips `npm ci` when node_modules matches the lock file already.
set -euo pipefail
cd "$(dirname "$0")/../ui"
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.kitakontor-lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.kitakontor-lock
fi
npm run build --silent
