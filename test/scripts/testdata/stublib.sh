# shellcheck shell=bash
# Sourced by every stub command in bin/. A stub stands in for a system command
# the server scripts call: it logs the call to $STUB_STATE/calls.log, answers
# read-only questions from the fake machine described by the files under
# $STUB_STATE, and before any change calls `mutating`, which logs the call to
# $STUB_STATE/mutations.log and then
#   STUB_MODE=dry (default): fails loudly (exit 97) — a dry run must change nothing;
#   STUB_MODE=apply:         returns, and the stub updates the fake state.
# MEALSYNC_SYSROOT, when set, is where the stub's fake files live (as for the scripts).
# The tests put $STUB_STATE/bin on PATH: links to the stubs here, so a test can
# leave one out (a command not installed yet) and apt-get can link it in.
set -euo pipefail
: "${STUB_STATE:?STUB_STATE must name the fake machine state folder}"
STUB_NAME=${0##*/}
# shellcheck disable=SC2034 # read by the stubs that source this file
SYSROOT=${MEALSYNC_SYSROOT:-}
printf '%s %s\n' "$STUB_NAME" "$*" >>"$STUB_STATE/calls.log"

mutating() {
  printf '%s %s\n' "$STUB_NAME" "$*" >>"$STUB_STATE/mutations.log"
  if [[ ${STUB_MODE:-dry} != apply ]]; then
    printf 'STUB %s: MUTATING CALL IN A DRY RUN: %s %s\n' "$STUB_NAME" "$STUB_NAME" "$*" >&2
    exit 97
  fi
}

# real NAME ARGS...: run the real command, skipping this stub folder on PATH.
real() {
  local name=$1 dir
  shift
  dir=$(cd "$(dirname "$0")" && pwd)
  PATH=$(tr ':' '\n' <<<"$PATH" | grep -vxF "$dir" | paste -sd:) exec "$name" "$@"
}

# The fake PostgreSQL cluster: $STUB_STATE/pg-clusters holds pg_lsclusters's
# lines, $STUB_STATE/pg-settings the running server's settings ("name=value",
# sorted; missing: a fresh Debian cluster's). pg_apply_conf restart|reload
# makes the server take the settings of its conf.d files, as PostgreSQL
# would: archive_mode and wal_level only at a restart.
pg_settings() {
  if [[ -f $STUB_STATE/pg-settings ]]; then
    cat "$STUB_STATE/pg-settings"
  else
    printf '%s\n' archive_command= archive_mode=off archive_timeout=0 wal_level=replica
  fi
}

pg_apply_conf() {
  local how=$1 ver name key value confd settings
  read -r ver name _ <"$STUB_STATE/pg-clusters"
  confd=$SYSROOT/etc/postgresql/$ver/$name/conf.d
  settings=$(pg_settings)
  while IFS='=' read -r key value; do
    key=${key//[[:space:]]/}
    [[ -z $key || $key == \#* ]] && continue
    [[ $how == restart || ($key != archive_mode && $key != wal_level) ]] || continue
    value=${value#"${value%%[![:space:]]*}"}
    value=${value#\'}
    value=${value%\'}
    settings=$(grep -v "^$key=" <<<"$settings"; echo "$key=$value")
  done < <(cat "$confd"/*.conf 2>/dev/null)
  sort <<<"$settings" >"$STUB_STATE/pg-settings"
}
