# Sourced by scripts that need a throwaway PostgreSQL (hub demo, sync benchmarks): finds or
# installs Debian's PostgreSQL, starts a cluster in a temporary folder on a free port, and
# removes it again on exit. Sets KITAKONTOR_HUB_DATABASE_URL.

pg_find_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir)"; [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  d="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
  [ -x "$d/initdb" ] && echo "$d"
}

# pg_start_throwaway NAME [extra postgres options]
pg_start_throwaway() {
  local name="$1"; shift
  pg_bindir="$(pg_find_bindir || true)"
  if [ -z "$pg_bindir" ]; then
    echo "$name: installing PostgreSQL (Debian package postgresql)"
    local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql
    pg_bindir="$(pg_find_bindir)"
  fi
  # PostgreSQL refuses to run as root: then the folder belongs to, and the server runs as, postgres.
  pg_tmp="$(mktemp -d "/tmp/kitakontor-$name.XXXXXX")"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$pg_tmp"
  trap pg_stop_throwaway EXIT
  pg_port=55432
  while (echo >"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; do pg_port=$((pg_port + 1)); done
  pg_as "$pg_bindir/initdb" -D "$pg_tmp/data" -A trust -U postgres -E UTF8 --locale=C >/dev/null
  pg_as "$pg_bindir/pg_ctl" -D "$pg_tmp/data" -l "$pg_tmp/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pg_tmp $*" start >/dev/null
  pg_as "$pg_bindir/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres kitakontor_hub
  export KITAKONTOR_HUB_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/kitakontor_hub"
}

pg_as() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_stop_throwaway() {
  [ -n "${pg_after_stop:-}" ] && eval "$pg_after_stop"
  pg_as "$pg_bindir/pg_ctl" -D "$pg_tmp/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$pg_tmp"
}
