#!/usr/bin/env bash
# The hub demo in one command: a throwaway PostgreSQL in a temporary folder, the schema, two
# demo facilities, an enrolment code for the first one, then the server (plain HTTP, for a
# desktop on this machine). Ctrl-C stops the server and PostgreSQL and removes the folder.
#
#   scripts/hub-demo.sh [--facility-id <uuid>] [--listen 127.0.0.1:8443]
#
# --facility-id: the facility the desktop runs as (the desktop prints its id); default the demo
# facility 01930000-0000-7000-8000-0000000000f1 "Kita Sonnenblume".
set -euo pipefail
cd "$(dirname "$0")/.."

facility_id=01930000-0000-7000-8000-0000000000f1
second_id=01930000-0000-7000-8000-0000000000f2
provider_id=01930000-0000-7000-8000-0000000000a1
listen=127.0.0.1:8443
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --facility-id) facility_id="${2:?--facility-id braucht eine UUID}"; shift 2 ;;
    --facility-id=*) facility_id="${1#*=}"; shift ;;
    --listen) listen="${2:?--listen braucht Adresse:Port}"; shift 2 ;;
    --listen=*) listen="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "hub-demo: unbekanntes Argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
# The second facility must be another one.
[ "$facility_id" = "$second_id" ] && second_id=01930000-0000-7000-8000-0000000000f1

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kitakontor/target}"
cargo build --locked -p kitakontor-hub
hub="$CARGO_TARGET_DIR/debug/kitakontor-hub"

source scripts/lib-pg.sh
pg_start_throwaway hub-demo

export KITAKONTOR_HUB_LISTEN="$listen"
"$hub" migrate
"$hub" facility add --id "$facility_id" --provider-id "$provider_id" \
  --provider-name "Eigenbetrieb Kindertagesstätten Leipzig" --name "Kita Sonnenblume" \
  --municipality Leipzig --street "Sonnenweg 1" --postal-code 04109 --city Leipzig \
  --capacity nursery=30,kindergarten=70
"$hub" facility add --id "$second_id" --provider-id "$provider_id" \
  --provider-name "Eigenbetrieb Kindertagesstätten Leipzig" --name "Kita Regenbogen" \
  --municipality Leipzig --street "Regenbogenstraße 5" --postal-code 04177 --city Leipzig \
  --capacity nursery=20,kindergarten=45
code="$("$hub" enrol-code --facility "$facility_id" --valid-hours 72 2>/dev/null)"

echo
echo "== Hub-Demo"
echo "   Datenbank:     $KITAKONTOR_HUB_DATABASE_URL (wird beim Beenden gelöscht)"
echo "   Hub:           http://$listen  (ohne TLS: nur für diesen Rechner)"
echo "   Einrichtung:   $facility_id  (Kita Sonnenblume)"
echo "   Anmeldecode:   $code  (72 Stunden gültig, einmalig)"
echo "   Beenden:       Strg-C"
echo
"$hub" serve
