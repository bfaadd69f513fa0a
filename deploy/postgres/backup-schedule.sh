#!/usr/bin/env bash
# The pgbackrest service of docker-compose.prod.yml's database profile (in the
# image deploy/postgres/Containerfile builds, as mealsync-backup-schedule).
#
#   mealsync-backup-schedule           set up, then back up on schedule, forever
#   mealsync-backup-schedule --init    set up only: stanza-create (nothing if the
#                                      stanza exists), check (a WAL segment reaches
#                                      the repository), a full backup if there is none
#   mealsync-backup-schedule --once full|diff|incr   one backup now
#   mealsync-backup-schedule --healthy exit 0 only if the newest backup finished
#                                      less than MEALSYNC_BACKUP_MAX_AGE seconds ago
#                                      (the container's healthcheck)
#
# Schedule (environment): a backup every day at MEALSYNC_BACKUP_AT (HH:MM UTC,
# default 01:30), full on MEALSYNC_FULL_BACKUP_DAY (ISO weekday, 7 = Sunday, the
# default) and differential on the other days. A failed backup is logged and
# the healthcheck turns unhealthy once the newest backup is older than
# MEALSYNC_BACKUP_MAX_AGE (default 93600 s: 26 hours).
set -euo pipefail

STANZA=mealsync
AT=${MEALSYNC_BACKUP_AT:-01:30}
FULL_DAY=${MEALSYNC_FULL_BACKUP_DAY:-7}
MAX_AGE=${MEALSYNC_BACKUP_MAX_AGE:-93600}

log() { printf '%s mealsync-backup-schedule: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
pgbr() { pgbackrest --stanza="$STANZA" "$@"; }

# newest_backup_end: when the newest backup finished (Unix seconds), 0 if none.
newest_backup_end() {
  pgbr --output=json info | jq -r '[.[0].backup[]?.timestamp.stop] | max // 0'
}

init() {
  pgbr stanza-create
  pgbr check
  if [[ $(newest_backup_end) == 0 ]]; then
    log "no backup yet: a full one now"
    pgbr --type=full backup
  fi
}

[[ $AT =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || { echo "MEALSYNC_BACKUP_AT=$AT: want HH:MM (UTC)" >&2; exit 2; }
[[ $FULL_DAY =~ ^[1-7]$ ]] || { echo "MEALSYNC_FULL_BACKUP_DAY=$FULL_DAY: want 1 (Monday) to 7 (Sunday)" >&2; exit 2; }
[[ $MAX_AGE =~ ^[0-9]+$ ]] || { echo "MEALSYNC_BACKUP_MAX_AGE=$MAX_AGE: want seconds" >&2; exit 2; }

case ${1:-} in
  --healthy)
    end=$(newest_backup_end)
    (($(date -u +%s) - end < MAX_AGE)) || { echo "the newest backup finished at $end (Unix time), more than $MAX_AGE s ago" >&2; exit 1; }
    exit 0
    ;;
  --init) init; exit 0 ;;
  --once)
    [[ ${2:-} =~ ^(full|diff|incr)$ ]] || { echo "--once needs full, diff or incr" >&2; exit 2; }
    pgbr --type="$2" backup
    exit 0
    ;;
  "") ;;
  *) echo "usage: mealsync-backup-schedule [--init | --once full|diff|incr | --healthy]" >&2; exit 2 ;;
esac

# As PID 1 a shell ignores SIGTERM unless it traps it: docker compose stop
# would wait for its grace period, then kill a backup halfway.
trap 'log "stopping"; exit 0' TERM INT
init
while :; do
  now=$(date -u +%s)
  next=$(date -u -d "today $AT" +%s)
  ((next > now)) || next=$(date -u -d "tomorrow $AT" +%s)
  log "next backup at $(date -u -d "@$next" +%Y-%m-%dT%H:%M:%SZ)"
  sleep $((next - now)) &
  wait $!
  kind="diff"
  [[ $(date -u +%u) != "$FULL_DAY" ]] || kind=full
  if pgbr --type="$kind" backup; then
    log "$kind backup done"
  else
    log "$kind backup FAILED (exit $?); the next try is tomorrow, and the healthcheck turns unhealthy"
  fi
done
