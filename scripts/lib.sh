# shellcheck shell=bash
# Shared helpers of the scripts in this folder. Each script carries a copy of
# this file between its "lib.sh" markers, so that it still works when copied
# alone to a server; test/scripts checks the copies match, and
# `go test ./test/scripts -run TestScriptsCarryLib -update` rewrites them.
# A script sets PROG, DRY_RUN, FORCE and OS_RELEASE before calling these.

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
usage_error() { printf '%s: %s\nRun %s --help for usage.\n' "$PROG" "$*" "$PROG" >&2; exit 2; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
ok() { printf 'ok: %s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }

# run_as VERB DESCRIPTION COMMAND...: runs COMMAND, printing "VERB:
# DESCRIPTION" first, and remembers DESCRIPTION so a failure under set -e can
# be named (see on_exit). A dry run only prints "would: DESCRIPTION".
CURRENT_CHANGE=
run_as() {
  local verb=$1 what=$2
  shift 2
  if ((DRY_RUN)); then
    printf 'would: %s\n' "$what"
    return 0
  fi
  printf '%s: %s\n' "$verb" "$what"
  CURRENT_CHANGE=$what
  "$@"
  CURRENT_CHANGE=
}

# act DESCRIPTION COMMAND...: every change goes through here.
act() { run_as change "$@"; }

# report_failed_step: for the EXIT trap. A command failing under set -e says
# nothing itself: name the step it was part of.
report_failed_step() {
  local rc=$1
  if ((rc != 0)) && [[ -n $CURRENT_CHANGE ]]; then
    printf '%s: error: failed (exit %d) while trying to: %s\nThe steps before it are done; fix the cause and re-run (done steps are skipped).\n' \
      "$PROG" "$rc" "$CURRENT_CHANGE" >&2
  fi
}

# need_value OPTION "$@": the option's value, or a usage error.
need_value() {
  [[ $# -ge 2 && -n $2 && $2 != --* ]] || usage_error "$1 needs a value"
  printf '%s' "$2"
}

# problem MESSAGE: fatal on a real run, a warning in a dry run.
problem() {
  if ((DRY_RUN)); then
    warn "$* (dry run: continuing)"
  else
    die "$*"
  fi
}

check_root() {
  [[ $(id -u) -eq 0 ]] || problem "must be run as root (try: sudo $0 ...)"
}

# os_field KEY: KEY's value in the os-release file, unquoted. The file is read,
# never sourced.
os_field() {
  sed -n -e "/^$1=/{" -e "s/^$1=//" -e "s/^[\"']//" -e "s/[\"']\$//" -e p -e q -e '}' "$OS_RELEASE"
}

# check_os: Debian 11, 12, 13 or Ubuntu 20.04 or newer, unless --force.
check_os() {
  if [[ ! -r $OS_RELEASE ]]; then
    if ((FORCE)); then warn "cannot read $OS_RELEASE; continuing because of --force"; return 0; fi
    problem "cannot read $OS_RELEASE to identify the OS; this script supports Debian 11-13 and Ubuntu 20.04+ (--force to try anyway)"
    return 0
  fi
  local id version name supported=0
  id=$(os_field ID)
  version=$(os_field VERSION_ID)
  name=$(os_field PRETTY_NAME)
  case $id in
    debian) [[ $version =~ ^(11|12|13)$ ]] && supported=1 ;;
    ubuntu) [[ $version =~ ^([0-9]+)\.[0-9]+$ ]] && ((BASH_REMATCH[1] >= 20)) && supported=1 ;;
  esac
  if ((supported)); then
    ok "OS: ${name:-$id $version}"
  elif ((FORCE)); then
    warn "unsupported OS '${name:-$id $version}'; continuing because of --force"
  else
    problem "unsupported OS '${name:-${id:-unknown} ${version}}': this script supports Debian 11, 12, 13 and Ubuntu 20.04 or newer (--force to try anyway)"
  fi
}

# same_content FILE CONTENT: FILE holds exactly CONTENT.
same_content() { [[ -f $1 ]] && cmp -s "$1" <(printf '%s' "$2"); }

# write_file PATH MODE UID:GID CONTENT: atomically, with owner and mode set
# before the file appears under its name. Called through act.
write_file() {
  local path=$1 mode=$2 ids=$3 content=$4 tmp
  [[ -d ${path%/*} ]] || install -d -m 0755 "${path%/*}"
  tmp=$(mktemp "$path.XXXXXX")
  printf '%s' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  chown "$ids" "$tmp"
  mv -f "$tmp" "$path"
}
