#!/usr/bin/env bash
# Installs what Kitakontor needs on Debian 12 and is not there yet. Idempotent: a second run
# installs nothing. Needs root (or sudo) only when a package is missing.
set -euo pipefail

packages=(
  build-essential pkg-config libssl-dev ca-certificates file
  # Tauri 2 on Linux (WebKitGTK 4.1)
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev
  # End-to-end tests: a virtual display and the WebDriver of WebKitGTK
  xvfb xauth webkit2gtk-driver
  # The test of the real OS credential store (Secret Service in a private D-Bus session)
  dbus gnome-keyring
  # Document checks: poppler (pdftotext, pdffonts, pdftoppm), qpdf, xmllint for the SEPA XSDs
  poppler-utils qpdf libxml2-utils
  # Opening PDFs in the desktop's viewer
  xdg-utils
  # The hub's database: its tests and the sync simulation start their own throwaway cluster
  # (initdb + pg_ctl from this package), the demo hub too
  postgresql
)
need=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if ((${#need[@]})); then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: no Rust toolchain found. Install one with rustup (https://rustup.rs), Rust >= 1.94." >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js $(node -v) is too old for the UI build (Vite 8 needs >= 20.19)." >&2
  exit 1
fi
