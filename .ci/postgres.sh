#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests and local development.
#
#   .ci/postgres.sh start    # init + start (reuses a running one), prints the URL
#   .ci/postgres.sh stop     # stop it and delete its data
#   .ci/postgres.sh status   # exit 0 if running
#   .ci/postgres.sh url      # print the connection URL
#
# Port: 55432 unless PGPORT_CI is set (a non-default port so it never clashes
# with a distro cluster on 5432). Listens on 127.0.0.1 only, trust auth, user
# "postgres". Durability is switched off: the data is disposable.
set -euo pipefail

PORT="${PGPORT_CI:-55432}"
# One state file per port remembers where the cluster's temp dir is, so
# "stop" (possibly from another shell) can find it.
STATE_FILE="/tmp/mealsync-ci-pg-${PORT}.path"
URL="postgres://postgres@127.0.0.1:${PORT}/postgres?sslmode=disable"

die() { echo "postgres.sh: $*" >&2; exit 1; }

# Newest installed server version's binaries (initdb, pg_ctl, postgres).
pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$d" && -x "$d/initdb" ]] || die "no initdb found; install the 'postgresql' package (bash .ci/run does it)"
  echo "$d"
}

# initdb/postgres refuse to run as root, so drop to the postgres system user.
# cd into the temp dir first: the postgres user may not be able to read our cwd.
as_pg() {
  local dir="$1"; shift
  if [[ "$(id -u)" == 0 ]]; then
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

state_dir() { [[ -f "$STATE_FILE" ]] && cat "$STATE_FILE" || true; }

is_running() {
  local dir bindir
  dir="$(state_dir)"
  [[ -n "$dir" && -d "$dir/data" ]] || return 1
  bindir="$(pg_bindir)"
  # pg_ctl alone is fooled by a killed postmaster left as an unreaped zombie
  # (its pid still "exists"), so also require the server to answer.
  as_pg "$dir" "$bindir/pg_ctl" status -D "$dir/data" >/dev/null 2>&1 &&
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 5
}

cmd_start() {
  local bindir dir locale
  bindir="$(pg_bindir)"

  if is_running; then
    echo "PostgreSQL already running (data in $(state_dir)/data)"
    echo "$URL"
    return 0
  fi

  # A leftover from a killed run: its process is gone, drop its files.
  dir="$(state_dir)"
  if [[ -n "$dir" && "$dir" == /tmp/mealsync-ci-pg.* ]]; then
    rm -rf -- "$dir"
  fi
  rm -f -- "$STATE_FILE"

  # Something else on the port would make pg_ctl fail with a confusing log.
  if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then
    die "port ${PORT} on 127.0.0.1 is already in use by another process (set PGPORT_CI to use another port)"
  fi

  dir="$(mktemp -d /tmp/mealsync-ci-pg.XXXXXXXXXX)"
  mkdir -p "$dir/data" "$dir/sock"
  if [[ "$(id -u)" == 0 ]]; then
    chown -R postgres:postgres "$dir"
  fi

  # C.UTF-8 always exists on Debian and, unlike plain C, lets pg_trgm treat
  # non-ASCII letters (e.g. "crème brûlée") as word characters.
  locale=C
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale=C.UTF-8; fi

  as_pg "$dir" "$bindir/initdb" -D "$dir/data" --auth=trust --username=postgres \
    -E UTF8 --locale="$locale" >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

  # Settings go into the config file (not pg_ctl -o) so a later manual
  # pg_ctl restart keeps them.
  cat >>"$dir/data/postgresql.conf" <<EOF

# --- mealsync CI / dev settings (disposable cluster) ---
listen_addresses = '127.0.0.1'
port = ${PORT}
unix_socket_directories = '${dir}/sock'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

  echo "$dir" >"$STATE_FILE"

  as_pg "$dir" "$bindir/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 >/dev/null \
    || { cat "$dir/postgres.log" >&2 || true; die "pg_ctl start failed"; }

  # Fail early if pg_trgm (contrib) is missing; roll back so nothing is left behind.
  "$bindir/psql" "$URL" -X -q -v ON_ERROR_STOP=1 \
    -c 'BEGIN; CREATE EXTENSION pg_trgm; ROLLBACK;' >/dev/null \
    || die "pg_trgm extension is not available"

  echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') running (data in $dir/data, log $dir/postgres.log)"
  echo "$URL"
}

cmd_stop() {
  local dir bindir
  dir="$(state_dir)"
  if [[ -z "$dir" ]]; then
    echo "PostgreSQL on port ${PORT}: nothing to stop"
    return 0
  fi
  bindir="$(pg_bindir)"
  # Only ask pg_ctl to stop a live server; a dead one would make it wait.
  if is_running; then
    as_pg "$dir" "$bindir/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >/dev/null 2>&1 || true
  fi
  [[ "$dir" == /tmp/mealsync-ci-pg.* ]] && rm -rf -- "$dir"
  rm -f -- "$STATE_FILE"
  echo "PostgreSQL on port ${PORT} stopped"
}

case "${1:-}" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) if is_running; then echo "running: $URL"; else echo "not running"; exit 1; fi ;;
  url)    echo "$URL" ;;
  *)      echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
