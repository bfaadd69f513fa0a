#!/usr/bin/env bash
# Prepare a fresh Debian or Ubuntu server to run MealSync: packages, a non-root
# deploy user, a firewall that lets in only SSH, HTTP and HTTPS, swap, unattended
# security upgrades, kernel limits for many connections, the app's folders, and,
# without Docker, the repository's nginx configuration for the host's nginx.
#
# Every step looks before it leaps: a second run changes nothing and says
# "already ...". Nothing changes before every check has passed. --dry-run prints
# each change it would make as a line starting with "would: ". See --help.
set -euo pipefail

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG [options]

Prepares a fresh Debian 11/12/13 or Ubuntu 20.04+ server for MealSync. Run as root.

Options:
  --mode compose|process  how MealSync will run (default: compose)
                            compose: docker-compose.prod.yml (nginx + app containers);
                                     installs the distro's Docker engine and Compose v2,
                                     adds the deploy user to the docker group
                            process: mealsyncctl's process driver behind a host nginx;
                                     installs nginx, no Docker
  --user NAME             deploy user to create (default: mealsync)
  --ssh-key FILE          public key(s) to add to the deploy user's authorized_keys
  --nginx-config DIR      process mode: the repository's nginx/ folder to install into
                          /etc/nginx (default: the nginx/ folder beside this script's)
  --swap-size SIZE        swap file to create when the server has no swap, e.g. 512M
                          or 2G (default: 2G; 0 skips swap)
  --pgbackrest            also set up continuous WAL archiving and base backups with
                          pgBackRest for a PostgreSQL on this host (Debian's packages;
                          a managed database archives itself: leave this out)
  --pg-cluster VER/NAME   with --pgbackrest: the cluster, as pg_lsclusters lists it,
                          e.g. 15/main (default: the only one there is)
  --pgbackrest-repo DIR   with --pgbackrest: the repository on local disk
                          (default: /var/lib/pgbackrest)
  --force                 run on an OS this script does not know (at your own risk)
  --dry-run               print every change as "would: ..." and change nothing;
                          root and OS problems become warnings
  -h, --help              show this help

What it does, each step only if not already done:
  packages    ca-certificates curl git ufw unattended-upgrades, plus
              compose: docker.io and Compose v2 (docker-compose-plugin,
              docker-compose-v2 or docker-compose >= 2, whichever apt offers)
              process: nginx
  service     enables and starts docker (compose) or nginx (process)
  user        creates NAME with /home/NAME; compose: adds it to group docker
              (note: members of docker are root-equivalent); adds --ssh-key keys
  firewall    ufw: deny incoming by default, allow 22/tcp, 80/tcp, 443/tcp, enable
              (Docker publishes container ports past ufw; docker-compose.prod.yml
              publishes only nginx's 80 and 443)
  swap        /swapfile of SIZE if no swap is active, in /etc/fstab once
  sysctl      /etc/sysctl.d/90-mealsync.conf: vm.swappiness=10,
              net.core.somaxconn and net.ipv4.tcp_max_syn_backlog 4096,
              fs.file-max 1048576 (only if the kernel's is lower); applied now
  upgrades    /etc/apt/apt.conf.d/20auto-upgrades: daily lists + unattended-upgrade
  folders     /opt/mealsync (0755), /var/lib/mealsyncctl (0750), /var/log/mealsync
              (0750), /etc/mealsync (0750) and /etc/mealsync/env (0640,
              created once from a template with a fresh JWT secret), owned by NAME;
              compose: /opt/mealsync/.env links to that env file;
              process: /var/lib/mealsync (0750), the instances' working and data folder;
              /var/www/certbot (root, 0755), the ACME webroot nginx serves
  nginx       process mode only: installs the repository's nginx/ files into /etc/nginx
              as the host's nginx needs them: nginx.conf with "user www-data;" (Debian's
              nginx user), /var/cache/nginx for its temporary files, and upstream.conf
              with no instance yet (server 127.0.0.1:1 down), which mealsyncctl rewrites
              at the first deploy. A file it replaces is kept once as FILE.before-mealsync.
              An upstream.conf that exists is mealsyncctl's and left alone, unless it
              names the compose service (app:8081: the repository's file copied by hand).
              Then nginx -t (on failure the previous files are put back) and systemctl
              reload nginx
  pgbackrest  --pgbackrest only, for the host's PostgreSQL cluster (it must be running,
              a primary, and its postgresql.conf must include_dir 'conf.d', Debian's
              default): installs pgbackrest; /etc/pgbackrest/pgbackrest.conf (stanza
              mealsync, repository DIR, 2 full backups kept, zst compression,
              start-fast; a second repository on S3-compatible storage is shown
              there commented out); the repository DIR (owner postgres, 0750);
              /etc/postgresql/VER/NAME/conf.d/90-mealsync-archiving.conf (archive_mode
              on, archive_command pgbackrest archive-push, archive_timeout 60 s,
              wal_level replica). PostgreSQL is RESTARTED (pg_ctlcluster VER NAME
              restart: its connections drop for a moment) only while archive_mode is
              not yet on or wal_level is minimal, both of which need a restart;
              otherwise, if the archive settings differ, it reloads its configuration.
              Then, as postgres: stanza-create, check (a WAL segment reaches the
              repository) and, if there is none, a full backup; a later run warns
              when the archiver has failed since its last success (pg_stat_archiver).
              Backups: systemd timers
              mealsync-pgbackrest-full.timer (Sundays 01:30 UTC) and
              mealsync-pgbackrest-diff.timer (the other days), or, without systemd,
              /etc/cron.d/mealsync-pgbackrest (and the cron package)

Exit status: 0 on success, 1 when a check or step fails, 2 on bad usage.

Testing seams (environment; leave unset on a real server):
  MEALSYNC_OS_RELEASE  os-release file to read instead of /etc/os-release
  MEALSYNC_SYSROOT     directory prefixed to every file the script reads or writes
                       (/etc, /opt, /var, /home, /run, /swapfile, /proc/sys), so tests can run
                       it against a sandbox tree; commands still come from PATH
EOF
}

# ---- lib.sh: a copy of scripts/lib.sh; edit it there -----------------------

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

# ---- end of lib.sh -----------------------------------------------------------

on_exit() {
  local rc=$?
  [[ -z ${NGINX_SAVED:-} ]] || rm -rf "$NGINX_SAVED"
  report_failed_step "$rc"
}
trap on_exit EXIT

# ---- arguments ---------------------------------------------------------------

MODE=compose
DEPLOY_USER=mealsync
SSH_KEY_FILE=
NGINX_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/nginx
SWAP_SIZE=2G
PGBACKREST=0
PG_CLUSTER=
PGBR_REPO=
FORCE=0
DRY_RUN=0
SYSROOT=${MEALSYNC_SYSROOT:-}
OS_RELEASE=${MEALSYNC_OS_RELEASE:-$SYSROOT/etc/os-release}


while (($#)); do
  case $1 in
    --mode) MODE=$(need_value "$@"); shift ;;
    --mode=*) MODE=${1#*=} ;;
    --user) DEPLOY_USER=$(need_value "$@"); shift ;;
    --user=*) DEPLOY_USER=${1#*=} ;;
    --ssh-key) SSH_KEY_FILE=$(need_value "$@"); shift ;;
    --ssh-key=*) SSH_KEY_FILE=${1#*=} ;;
    --nginx-config) NGINX_SRC=$(need_value "$@"); shift ;;
    --nginx-config=*) NGINX_SRC=${1#*=} ;;
    --swap-size) SWAP_SIZE=$(need_value "$@"); shift ;;
    --swap-size=*) SWAP_SIZE=${1#*=} ;;
    --pgbackrest) PGBACKREST=1 ;;
    --pg-cluster) PG_CLUSTER=$(need_value "$@"); shift ;;
    --pg-cluster=*) PG_CLUSTER=${1#*=} ;;
    --pgbackrest-repo) PGBR_REPO=$(need_value "$@"); shift ;;
    --pgbackrest-repo=*) PGBR_REPO=${1#*=} ;;
    --force) FORCE=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

case $MODE in
  compose | process) ;;
  *) usage_error "--mode must be compose or process, not '$MODE'" ;;
esac
# The rule useradd itself applies on Debian (NAME_REGEX), without the dollar.
[[ $DEPLOY_USER =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] ||
  usage_error "--user '$DEPLOY_USER' is not a valid user name (lowercase letters, digits, _ and -, starting with a letter or _, at most 32)"
[[ $DEPLOY_USER != root ]] || usage_error "--user must not be root: the point is a non-root deploy user"
[[ $SWAP_SIZE =~ ^(0|[1-9][0-9]*[MG])$ ]] ||
  usage_error "--swap-size '$SWAP_SIZE' is not a size like 512M or 2G (or 0 to skip swap)"
if ((!PGBACKREST)); then
  [[ -z $PG_CLUSTER ]] || usage_error "--pg-cluster only applies with --pgbackrest"
  [[ -z $PGBR_REPO ]] || usage_error "--pgbackrest-repo only applies with --pgbackrest"
fi
[[ -z $PG_CLUSTER || $PG_CLUSTER =~ ^[0-9]+(\.[0-9]+)?/[A-Za-z0-9_.-]+$ ]] ||
  usage_error "--pg-cluster '$PG_CLUSTER' is not a cluster like 15/main (pg_lsclusters lists them)"
PGBR_REPO=${PGBR_REPO:-/var/lib/pgbackrest}
# It becomes repo1-path in pgbackrest.conf and a folder this script creates.
[[ $PGBR_REPO =~ ^(/[A-Za-z0-9_.-]+)+$ && ! $PGBR_REPO =~ (^|/)\.\.?(/|$) ]] ||
  usage_error "--pgbackrest-repo '$PGBR_REPO' is not an absolute folder path (letters, digits, . _ - and /, no . or .. parts)"

# ---- preflight: nothing below changes anything until all of these pass -------





# A private key pasted by mistake must never reach authorized_keys.
check_ssh_key_file() {
  [[ -n $SSH_KEY_FILE ]] || return 0
  [[ -f $SSH_KEY_FILE && -r $SSH_KEY_FILE ]] || usage_error "--ssh-key: cannot read '$SSH_KEY_FILE'"
  if grep -q 'PRIVATE KEY' "$SSH_KEY_FILE"; then
    usage_error "--ssh-key: '$SSH_KEY_FILE' is a PRIVATE key; pass the public one (usually the .pub file)"
  fi
  local line n=0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -z ${line//[[:space:]]/} || $line == \#* ]] && continue
    [[ $line =~ (^|[[:space:]])(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)[[:space:]]+[A-Za-z0-9+/]+=*([[:space:]]|$) ]] ||
      usage_error "--ssh-key: '$SSH_KEY_FILE' has a line that is not an SSH public key: ${line:0:40}..."
    n=$((n + 1))
  done <"$SSH_KEY_FILE"
  ((n > 0)) || usage_error "--ssh-key: '$SSH_KEY_FILE' holds no public key"
}

# The firewall allows SSH on 22 only; a server whose sshd listens elsewhere
# would lock its admin out the moment ufw is enabled.
check_sshd_port() {
  local f port
  for f in "$SYSROOT/etc/ssh/sshd_config" "$SYSROOT"/etc/ssh/sshd_config.d/*.conf; do
    [[ -r $f ]] || continue
    while read -r port; do
      [[ $port == 22 ]] || problem "sshd is configured to listen on port $port (${f#"$SYSROOT"}), but the firewall this script sets up allows SSH on 22 only; enabling it would lock you out"
    done < <(sed -n 's/^[[:space:]]*[Pp]ort[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\1/p' "$f")
  done
}

# Process mode installs the repository's nginx configuration: it must be there.
check_nginx_src() {
  [[ $MODE == process ]] || return 0
  local f
  for f in nginx.conf upstream.conf; do
    [[ -f $NGINX_SRC/$f ]] ||
      usage_error "--mode process installs the repository's nginx configuration, but '$NGINX_SRC' has no $f: run this script from a checkout of the repository, or pass --nginx-config DIR"
  done
}

# ---- probes (read-only) ------------------------------------------------------

pkg_installed() {
  dpkg-query -W -f="\${Status}" "$1" 2>/dev/null | grep -q 'install ok installed'
}

pkg_version() { dpkg-query -W -f="\${Version}" "$1" 2>/dev/null || true; }

# apt_candidate PKG: the version apt would install, or nothing.
apt_candidate() {
  local v
  v=$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }' || true)
  [[ $v == "(none)" ]] || printf '%s' "$v"
}

# major VERSION: the upstream major number of a Debian version (epoch dropped).
major() {
  local v=${1#*:}
  printf '%s' "${v%%[!0-9]*}"
}

# compose_package: the package that gives "docker compose" (Compose v2): one
# already installed, else the first apt offers. Debian 13 ships v2 as
# docker-compose; Debian 11/12 only have v1 there, so they need Docker's own
# apt repository (docker-compose-plugin).
compose_package() {
  local p v
  for p in docker-compose-plugin docker-compose-v2; do
    pkg_installed "$p" && { printf '%s' "$p"; return 0; }
  done
  if pkg_installed docker-compose && (($(major "$(pkg_version docker-compose)") >= 2)); then
    printf docker-compose
    return 0
  fi
  for p in docker-compose-plugin docker-compose-v2; do
    [[ -n $(apt_candidate "$p") ]] && { printf '%s' "$p"; return 0; }
  done
  v=$(apt_candidate docker-compose)
  if [[ -n $v ]] && (($(major "$v") >= 2)); then
    printf docker-compose
    return 0
  fi
  return 1
}

user_exists() { getent passwd "$DEPLOY_USER" >/dev/null 2>&1; }

user_home() {
  local home
  home=$(getent passwd "$DEPLOY_USER" 2>/dev/null | cut -d: -f6 || true)
  printf '%s' "${home:-/home/$DEPLOY_USER}"
}

# owner_ids NAME: "uid:gid" of NAME and its primary group, or nothing.
owner_ids() {
  local uid gid
  uid=$(id -u "$1" 2>/dev/null) && gid=$(id -g "$1" 2>/dev/null) && printf '%s:%s' "$uid" "$gid"
  return 0
}

# need_ids NAME: like owner_ids, but a real run cannot go on without them.
need_ids() {
  local ids
  ids=$(owner_ids "$1")
  [[ -n $ids ]] || ((DRY_RUN)) || die "user '$1' does not exist"
  printf '%s' "$ids"
}


# ---- file helpers (called through act) ---------------------------------------


set_owner_mode() { chown "$3" "$1" && chmod "$2" "$1"; }

# ensure_dir PATH MODE OWNER
ensure_dir() {
  local path=$1 mode=$2 owner=$3 real="$SYSROOT$1" ids
  ids=$(need_ids "$owner")
  if [[ ! -d $real ]]; then
    act "create directory $path (owner $owner, mode $mode)" install -d -m "$mode" -o "${ids%:*}" -g "${ids#*:}" "$real"
  elif [[ -z $ids || $(stat -c '%u:%g %a' "$real") != "$ids ${mode#0}" ]]; then
    act "set $path to owner $owner, mode $mode" set_owner_mode "$real" "$mode" "$ids"
  else
    ok "$path already exists (owner $owner, mode $mode)"
  fi
}

# ensure_file PATH MODE OWNER CONTENT [keep]: PATH holds CONTENT; with "keep" an
# existing file's content is left alone (operator-edited) and only its owner
# and mode are enforced.
ensure_file() {
  local path=$1 mode=$2 owner=$3 content=$4 keep=${5:-} real="$SYSROOT$1" ids
  ids=$(need_ids "$owner")
  if [[ ! -f $real ]]; then
    act "create $path (owner $owner, mode $mode)" write_file "$real" "$mode" "$ids" "$content"
  elif [[ $keep != keep ]] && ! same_content "$real" "$content"; then
    act "rewrite $path with the settings above" write_file "$real" "$mode" "$ids" "$content"
  elif [[ -z $ids || $(stat -c '%u:%g %a' "$real") != "$ids ${mode#0}" ]]; then
    act "set $path to owner $owner, mode $mode" set_owner_mode "$real" "$mode" "$ids"
  else
    ok "$path already in place"
  fi
}

# ---- steps -------------------------------------------------------------------

PACKAGES=(ca-certificates curl git ufw unattended-upgrades)
COMPOSE_PKG=
NO_COMPOSE="compose mode needs Docker Compose v2, and no package in this server's apt sources provides it (looked for docker-compose-plugin, docker-compose-v2, docker-compose >= 2). Debian 11 and 12 carry only Compose v1: add Docker's official apt repository (docker-compose-plugin) and re-run, or use --mode process"

plan_packages() {
  if ((PGBACKREST)); then
    PACKAGES+=(pgbackrest)
    systemd_running || PACKAGES+=(cron)
  fi
  if [[ $MODE == process ]]; then
    PACKAGES+=(nginx)
    return 0
  fi
  # Docker's own docker-ce is as good as Debian's docker.io (they conflict).
  if pkg_installed docker-ce; then PACKAGES+=(docker-ce); else PACKAGES+=(docker.io); fi
  COMPOSE_PKG=$(compose_package) || COMPOSE_PKG=
  # With a package index present (it knows docker.io) its answer is final: stop
  # before changing anything. A fresh server's empty index is refreshed first.
  if [[ -z $COMPOSE_PKG && -n $(apt_candidate docker.io) ]]; then
    problem "$NO_COMPOSE"
  fi
}

do_packages() {
  step "packages"
  local missing=() p
  for p in "${PACKAGES[@]}" ${COMPOSE_PKG:+"$COMPOSE_PKG"}; do
    pkg_installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)) && [[ $MODE == process || -n $COMPOSE_PKG ]]; then
    ok "packages already installed: ${PACKAGES[*]} $COMPOSE_PKG"
    return 0
  fi
  act "refresh the package index (apt-get update)" apt-get update
  if [[ $MODE == compose && -z $COMPOSE_PKG ]]; then
    if ((DRY_RUN)); then
      missing+=("<Compose v2 package, if apt offers one after the update>")
    elif COMPOSE_PKG=$(compose_package); then
      pkg_installed "$COMPOSE_PKG" || missing+=("$COMPOSE_PKG")
    else
      die "$NO_COMPOSE (only the package index was refreshed)"
    fi
  fi
  ((${#missing[@]})) || return 0
  act "install packages: ${missing[*]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

do_service() {
  local svc=docker
  [[ $MODE == process ]] && svc=nginx
  step "service $svc"
  if ! command -v systemctl >/dev/null; then
    warn "systemctl not found: make sure $svc starts at boot yourself"
    return 0
  fi
  if systemctl is-enabled --quiet "$svc" 2>/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    ok "$svc already enabled and running"
  else
    act "enable and start $svc (systemctl enable --now $svc)" systemctl enable --now "$svc"
  fi
}

do_user() {
  step "deploy user $DEPLOY_USER"
  if user_exists; then
    ok "user $DEPLOY_USER already exists"
  else
    act "create user $DEPLOY_USER (home /home/$DEPLOY_USER, shell /bin/bash, password locked)" \
      useradd --create-home --home-dir "/home/$DEPLOY_USER" --shell /bin/bash --user-group "$DEPLOY_USER"
  fi
  if [[ $MODE == compose ]]; then
    if id -nG "$DEPLOY_USER" 2>/dev/null | tr ' ' '\n' | grep -qx docker; then
      ok "$DEPLOY_USER already in group docker"
    else
      act "add $DEPLOY_USER to group docker (usermod -aG docker $DEPLOY_USER)" usermod -aG docker "$DEPLOY_USER"
    fi
  fi
  do_ssh_keys
}

append_line() { printf '%s\n' "$2" >>"$1"; }

do_ssh_keys() {
  local home ssh_dir keys line
  home=$(user_home)
  ssh_dir=$home/.ssh
  keys=$ssh_dir/authorized_keys
  if [[ -z $SSH_KEY_FILE ]]; then
    if [[ -s $SYSROOT$keys ]]; then
      ok "no --ssh-key given; $keys already has keys"
    else
      warn "no --ssh-key given and $keys is empty: add a key before you rely on logging in as $DEPLOY_USER"
    fi
    return 0
  fi
  ensure_dir "$ssh_dir" 0700 "$DEPLOY_USER"
  ensure_file "$keys" 0600 "$DEPLOY_USER" "" keep
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -z ${line//[[:space:]]/} || $line == \#* ]] && continue
    if [[ -f $SYSROOT$keys ]] && grep -qxF -- "$line" "$SYSROOT$keys"; then
      ok "SSH key already authorized: ${line:0:30}..."
    else
      act "authorize SSH key ${line:0:30}... in $keys" append_line "$SYSROOT$keys" "$line"
    fi
  done <"$SSH_KEY_FILE"
}

# Rules as "ufw show added" prints them; 22 also counts as the OpenSSH profile.
FIREWALL_PORTS=(22 80 443)

do_firewall() {
  step "firewall (ufw)"
  local added status policy port
  added=$(ufw show added 2>/dev/null || true)
  status=$(ufw status 2>/dev/null || true)
  policy=$(sed -n 's/^DEFAULT_INPUT_POLICY="\{0,1\}\([A-Z]*\)"\{0,1\}$/\1/p' "$SYSROOT/etc/default/ufw" 2>/dev/null || true)

  if [[ $policy == DROP || $policy == REJECT ]]; then
    ok "ufw already denies incoming by default"
  else
    act "ufw default deny incoming" ufw default deny incoming
  fi
  # Allow before enabling, so the SSH session running this survives.
  for port in "${FIREWALL_PORTS[@]}"; do
    if grep -Eqx "ufw allow ($port|$port/tcp)( comment .*)?" <<<"$added" ||
      { [[ $port == 22 ]] && grep -Eqx "ufw allow (OpenSSH|ssh)( comment .*)?" <<<"$added"; }; then
      ok "ufw already allows $port/tcp"
    else
      act "ufw allow $port/tcp" ufw allow "$port/tcp"
    fi
  done
  local extra
  extra=$(grep '^ufw ' <<<"$added" | grep -Evx "ufw allow (22|80|443|OpenSSH|ssh)(/tcp)?( comment .*)?" || true)
  [[ -z $extra ]] || warn "ufw has other rules this script leaves alone: $(tr '\n' ';' <<<"$extra")"
  if grep -q '^Status: active' <<<"$status"; then
    ok "ufw already enabled"
  else
    act "enable ufw (only 22, 80 and 443 open)" ufw --force enable
  fi
}

make_swapfile() {
  local path=$1 size=$2 mib
  (umask 077 && fallocate -l "$size" "$path") || {
    mib=${size%[MG]}
    [[ $size == *G ]] && mib=$((mib * 1024))
    (umask 077 && dd if=/dev/zero of="$path" bs=1M count="$mib" status=none)
  }
  chmod 600 "$path"
  mkswap "$path" >/dev/null
}

do_swap() {
  step "swap"
  if [[ $SWAP_SIZE == 0 ]]; then
    ok "swap skipped (--swap-size 0)"
    return 0
  fi
  local active
  active=$(swapon --show=NAME --noheadings 2>/dev/null || true)
  if [[ -n $active ]] && ! grep -qx /swapfile <<<"$active"; then
    ok "swap already active ($(tr '\n' ' ' <<<"$active")); no /swapfile needed"
    return 0
  fi
  if grep -qx /swapfile <<<"$active"; then
    ok "/swapfile already active"
  else
    if [[ ! -e $SYSROOT/swapfile ]]; then
      act "create $SWAP_SIZE swap file /swapfile (mode 0600, mkswap)" make_swapfile "$SYSROOT/swapfile" "$SWAP_SIZE"
    fi
    act "turn on swap /swapfile (swapon)" swapon "$SYSROOT/swapfile"
  fi
  if awk '$1 == "/swapfile" && $3 == "swap" { found = 1 } END { exit !found }' "$SYSROOT/etc/fstab" 2>/dev/null; then
    ok "/swapfile already in /etc/fstab"
  else
    act "add '/swapfile none swap sw 0 0' to /etc/fstab" append_line "$SYSROOT/etc/fstab" "/swapfile none swap sw 0 0"
  fi
}

SYSCTL_FILE=/etc/sysctl.d/90-mealsync.conf
FILE_MAX=1048576

sysctl_content() {
  local current
  current=$(cat "$SYSROOT/proc/sys/fs/file-max" 2>/dev/null || echo 0)
  printf '%s\n' \
    "# MealSync server tuning, written by scripts/initial-setup.sh (re-running it restores this file)." \
    "# Swap only under real memory pressure." \
    "vm.swappiness = 10" \
    "# Longer accept queues for nginx and the app under bursts of connections." \
    "net.core.somaxconn = 4096" \
    "net.ipv4.tcp_max_syn_backlog = 4096"
  if [[ $current =~ ^[0-9]+$ ]] && ((current >= FILE_MAX)); then
    echo "# fs.file-max is left alone: the kernel's own ($current) is already higher than $FILE_MAX."
  else
    echo "# Open files system-wide (every connection is one)."
    echo "fs.file-max = $FILE_MAX"
  fi
}

apply_sysctl() {
  sysctl -p "$1" >/dev/null ||
    warn "the kernel refused some settings of $SYSCTL_FILE (a container or restricted VPS?); they apply at next boot where allowed"
}

do_sysctl() {
  step "kernel settings"
  local content key value live pending=0
  content=$(sysctl_content)
  ensure_file "$SYSCTL_FILE" 0644 root "$content"$'\n'
  while IFS='=' read -r key value; do
    key=${key//[[:space:]]/}
    value=${value//[[:space:]]/}
    [[ -z $key || $key == \#* ]] && continue
    live=$(sysctl -n "$key" 2>/dev/null | tr -d '[:space:]' || true)
    [[ $live == "$value" ]] || pending=1
  done <<<"$content"
  if ((pending)); then
    act "apply $SYSCTL_FILE now (sysctl -p)" apply_sysctl "$SYSROOT$SYSCTL_FILE"
  else
    ok "kernel already runs with these settings"
  fi
}

AUTO_UPGRADES=/etc/apt/apt.conf.d/20auto-upgrades

do_upgrades() {
  step "unattended upgrades"
  local real=$SYSROOT$AUTO_UPGRADES
  if [[ -f $real ]] &&
    grep -Eq '^[[:space:]]*APT::Periodic::Update-Package-Lists[[:space:]]+"1"[[:space:]]*;' "$real" &&
    grep -Eq '^[[:space:]]*APT::Periodic::Unattended-Upgrade[[:space:]]+"1"[[:space:]]*;' "$real"; then
    ok "unattended upgrades already enabled ($AUTO_UPGRADES)"
    return 0
  fi
  ensure_file "$AUTO_UPGRADES" 0644 root "$(printf '%s\n' \
    '// Written by MealSync scripts/initial-setup.sh: refresh package lists and' \
    '// install security updates every day (unattended-upgrades).' \
    'APT::Periodic::Update-Package-Lists "1";' \
    'APT::Periodic::Unattended-Upgrade "1";')"$'\n'
}

ENV_FILE=/etc/mealsync/env

env_template() {
  local secret
  secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
  cat <<EOF
# MealSync configuration (every variable: see the README's Configuration table).
# Keep this file 0640: it holds secrets.
MEALSYNC_ENV=production
# PostgreSQL in production, e.g. postgres://mealsync:PASSWORD@db.internal:5432/mealsync?sslmode=require
MEALSYNC_DATABASE_URL=
# Generated by initial-setup.sh; changing it logs every user out.
MEALSYNC_JWT_SECRET=$secret
EOF
  if [[ $MODE == compose ]]; then
    cat <<EOF
# docker-compose.prod.yml reads this file as /opt/mealsync/.env (a link here).
# certbot runs on the host (scripts/setup-ssl.sh); the nginx container mounts its
# certificates and its ACME webroot from these host folders.
MEALSYNC_CERTS_DIR=/etc/letsencrypt
MEALSYNC_CERTBOT_WEBROOT=/var/www/certbot
EOF
  else
    cat <<EOF
# The host nginx proxies from loopback: believe its X-Forwarded-For.
MEALSYNC_TRUSTED_PROXIES=127.0.0.1/32,::1/128
# As docker-compose.prod.yml does: each release applies its migrations at start
# (in one transaction, under a lock), so the first deploy finds its schema.
MEALSYNC_MIGRATE_ON_START=true
# Uploaded images and the disk-space health check, whatever folder mealsyncctl runs in.
MEALSYNC_DATA_DIR=/var/lib/mealsync
EOF
  fi
}

# docker compose reads .env from the project folder; point it at the one env file.
do_compose_env_link() {
  local link=/opt/mealsync/.env real
  real=$SYSROOT$link
  if [[ -L $real && $(readlink "$real") == "$ENV_FILE" ]]; then
    ok "$link already links to $ENV_FILE"
  elif [[ -e $real || -L $real ]]; then
    warn "$link exists and is not a link to $ENV_FILE: left alone (docker compose reads it, not $ENV_FILE)"
  else
    act "link $link -> $ENV_FILE (docker compose reads .env)" ln -s "$ENV_FILE" "$real"
  fi
}

do_folders() {
  step "folders"
  ensure_dir /opt/mealsync 0755 "$DEPLOY_USER"
  ensure_dir /var/lib/mealsyncctl 0750 "$DEPLOY_USER"
  ensure_dir /var/log/mealsync 0750 "$DEPLOY_USER"
  ensure_dir /etc/mealsync 0750 "$DEPLOY_USER"
  if [[ -f $SYSROOT$ENV_FILE ]]; then
    ensure_file "$ENV_FILE" 0640 "$DEPLOY_USER" "" keep
  else
    ensure_file "$ENV_FILE" 0640 "$DEPLOY_USER" "$(env_template)"$'\n' keep
  fi
  if [[ $MODE == compose ]]; then do_compose_env_link; fi
  if [[ $MODE == process ]]; then ensure_dir /var/lib/mealsync 0750 "$DEPLOY_USER"; fi
  # nginx answers Let's Encrypt's challenges from here (scripts/setup-ssl.sh).
  ensure_dir /var/www/certbot 0755 root
}

# ---- the host's nginx (process mode) -------------------------------------------

NGINX_DIR=/etc/nginx
NGINX_USER=www-data # Debian's and Ubuntu's nginx packages run their workers as www-data
NGINX_WROTE=()      # files this run installed, relative to $NGINX_DIR
NGINX_SAVED=        # a folder holding their previous versions, for a rollback
NGINX_BACKUPS=()    # the FILE.before-mealsync copies this run made
NGINX_PLANNED=0     # 1 once a file is (or, in a dry run, would be) installed

# nginx_conf_content: the repository's nginx.conf for the host's nginx, whose
# workers run as www-data (the file names the official image's user, nginx).
nginx_conf_content() {
  sed "s/^user[[:space:]].*;/user $NGINX_USER;/" "$NGINX_SRC/nginx.conf"
}

# upstream_content: the repository's upstream block with no instance in it, as
# mealsyncctl writes it when none serves. The repository's file names the
# compose service app:8081, which no host resolves: nginx -t would fail with
# "host not found in upstream".
upstream_content() {
  printf '%s\n' \
    "# The MealSync instances nginx balances over, for a host where mealsyncctl's process" \
    "# driver runs them on loopback ports. Installed by scripts/initial-setup.sh with no" \
    "# instance yet; every mealsyncctl deploy, rollback, scale and repair rewrites the" \
    "# server lines (the repository's nginx/upstream.conf explains the rest)."
  awk '
    /^[[:space:]]*upstream[[:space:]]+mealsync_app[[:space:]]*[{]/ { inside = 1; print; next }
    inside && /^[[:space:]]*[}]/ { print "    server 127.0.0.1:1 down;  # no instance is serving"; print; inside = 0; next }
    inside && /^[[:space:]]*server[[:space:]]/ { next }
    inside { print }
  ' "$NGINX_SRC/upstream.conf"
}

# upstream_compose_name FILE: the first server in FILE named by a host name the
# repository's upstream.conf uses (the compose service, app:8081), which only
# Docker's network resolves; nothing if there is none.
upstream_compose_name() {
  awk '
    function host(a) { sub(/;$/, "", a); sub(/:[0-9]+$/, "", a); return a }
    FNR == NR { if ($1 == "server" && host($2) !~ /^([0-9.]+|\[.*\]|unix:.*)$/) names[host($2)] = 1; next }
    $1 == "server" && (host($2) in names) { a = $2; sub(/;$/, "", a); print a; exit }
  ' "$NGINX_SRC/upstream.conf" "$1"
}

# put_nginx_file REL CONTENT: install CONTENT as $NGINX_DIR/REL, keeping the
# previous version for a rollback and, the first time, as REL.before-mealsync.
put_nginx_file() {
  local rel=$1 content=$2 real="$SYSROOT$NGINX_DIR/$1"
  [[ -n $NGINX_SAVED ]] || NGINX_SAVED=$(mktemp -d)
  if [[ -e $real ]]; then
    install -D -m 0644 "$real" "$NGINX_SAVED/$rel"
    if [[ ! -e $real.before-mealsync ]]; then
      cp -p "$real" "$real.before-mealsync"
      NGINX_BACKUPS+=("$real.before-mealsync")
    fi
  fi
  NGINX_WROTE+=("$rel")
  write_file "$real" 0644 0:0 "$content"
}

# ensure_nginx_file REL CONTENT [upstream]: REL holds CONTENT. An upstream.conf
# that exists is mealsyncctl's: only one naming the compose service is replaced.
ensure_nginx_file() {
  local rel=$1 content=$2 kind=${3:-} path=$NGINX_DIR/$1 real="$SYSROOT$NGINX_DIR/$1" name why
  if [[ ! -f $real ]]; then
    why="install $path (MealSync's, from nginx/)"
  elif [[ $kind == upstream ]]; then
    name=$(upstream_compose_name "$real")
    if [[ -z $name ]]; then
      ok "$path already in place (mealsyncctl maintains it)"
      return 0
    fi
    why="replace $path: it names $name, the compose service, which this host cannot resolve (nginx -t fails); no instance until the first deploy"
  elif ! same_content "$real" "$content"; then
    why="replace $path with MealSync's (the previous one is kept once as $rel.before-mealsync)"
  else
    ok "$path already MealSync's"
    return 0
  fi
  NGINX_PLANNED=1
  act "$why" put_nginx_file "$rel" "$content"
}

# restore_nginx_files: put back what this run replaced, remove what it added.
restore_nginx_files() {
  local rel
  rm -f "${NGINX_BACKUPS[@]}"
  for rel in "${NGINX_WROTE[@]}"; do
    if [[ -f $NGINX_SAVED/$rel ]]; then
      install -m 0644 "$NGINX_SAVED/$rel" "$SYSROOT$NGINX_DIR/$rel"
    else
      rm -f "$SYSROOT$NGINX_DIR/$rel"
    fi
  done
}

check_and_reload_nginx() {
  local out conf="$SYSROOT$NGINX_DIR/nginx.conf"
  if ! out=$(nginx -t -q -c "$conf" 2>&1); then
    printf '%s\n' "$out" >&2
    restore_nginx_files
    die "nginx rejected the installed configuration (above), so the previous files are back and nginx keeps running its old configuration"
  fi
  if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
    systemctl reload nginx
  else
    warn "nginx is not running: start it (systemctl start nginx) before the first deploy"
  fi
}

NGINX_LIMITS=/etc/systemd/system/nginx.service.d/mealsync-limits.conf

# do_nginx_limits: the host's nginx may open as many files as nginx.conf's
# worker_rlimit_nofile (10,000 users' connections, upstream connections and
# WebSockets). Its master runs as root and sets each worker's limit itself;
# the unit's limit makes that hold where the service is confined (no
# CAP_SYS_RESOURCE) and covers the master. It applies at nginx's next start.
do_nginx_limits() {
  [[ $MODE == process ]] || return 0
  step "nginx open-file limit"
  if ! command -v systemctl >/dev/null; then
    warn "systemctl not found: give nginx an open-file limit of 65536 (ulimit -n) yourself"
    return 0
  fi
  local before=0
  [[ -f $SYSROOT$NGINX_LIMITS ]] && same_content "$SYSROOT$NGINX_LIMITS" "$(nginx_limits_content)"$'\n' && before=1
  ensure_file "$NGINX_LIMITS" 0644 root "$(nginx_limits_content)"$'\n'
  if ((!before)); then
    act "reload systemd's units (systemctl daemon-reload); nginx takes the limit at its next restart" systemctl daemon-reload
  fi
}

nginx_limits_content() {
  printf '%s\n' \
    "# Written by MealSync scripts/initial-setup.sh: open files for nginx, as its" \
    "# nginx.conf's worker_rlimit_nofile (re-running the script restores this file)." \
    "[Service]" \
    "LimitNOFILE=65536"
}

do_nginx_config() {
  [[ $MODE == process ]] || return 0
  step "nginx configuration ($NGINX_DIR)"
  local f rel
  ensure_dir /var/cache/nginx 0755 root
  ensure_nginx_file nginx.conf "$(nginx_conf_content)"$'\n'
  ensure_nginx_file upstream.conf "$(upstream_content)"$'\n' upstream
  for f in "$NGINX_SRC"/*.conf "$NGINX_SRC"/conf.d/*; do
    [[ -f $f ]] || continue
    rel=${f#"$NGINX_SRC"/}
    [[ $rel == nginx.conf || $rel == upstream.conf ]] && continue
    ensure_nginx_file "$rel" "$(cat "$f")"$'\n'
  done
  if ((NGINX_PLANNED)); then
    act "check the configuration (nginx -t) and reload nginx" check_and_reload_nginx
  fi
}

# ---- point-in-time recovery: pgBackRest for the host's PostgreSQL ------------

STANZA=mealsync
PGBR_CONF=/etc/pgbackrest/pgbackrest.conf
PGBR_CRON=/etc/cron.d/mealsync-pgbackrest
PGBR_UNIT_DIR=/etc/systemd/system
ARCHIVE_COMMAND="pgbackrest --stanza=$STANZA archive-push %p"
ARCHIVE_TIMEOUT=60
PG_VER='' PG_NAME='' PG_PORT='' PG_OWNER='' PG_DATA='' PG_DROPIN='' PG_FOUND=0

# check_pg_cluster: the cluster --pgbackrest sets up, from postgresql-common's
# pg_lsclusters: it must exist, run, be a primary, and read conf.d.
check_pg_cluster() {
  ((PGBACKREST)) || return 0
  if ! command -v pg_lsclusters >/dev/null; then
    problem "--pgbackrest sets up a PostgreSQL on this host, but pg_lsclusters (Debian's postgresql-common) is not here: install PostgreSQL first, or leave --pgbackrest out (a managed database archives by itself)"
    return 0
  fi
  local lines line ver name port status owner data
  lines=$(pg_lsclusters --no-header 2>/dev/null || true)
  if [[ -z $PG_CLUSTER ]]; then
    if [[ -z $lines ]]; then
      problem "--pgbackrest: pg_lsclusters lists no PostgreSQL cluster on this host"
      return 0
    elif (($(wc -l <<<"$lines") > 1)); then
      problem "--pgbackrest: this host has several PostgreSQL clusters ($(awk '{ printf "%s%s/%s", (NR > 1 ? " " : ""), $1, $2 }' <<<"$lines")): choose one with --pg-cluster"
      return 0
    fi
    line=$lines
  else
    line=$(awk -v v="${PG_CLUSTER%%/*}" -v n="${PG_CLUSTER#*/}" '$1 == v && $2 == n' <<<"$lines")
    if [[ -z $line ]]; then
      problem "--pg-cluster $PG_CLUSTER: pg_lsclusters lists no such cluster (it lists: $(awk '{ printf "%s%s/%s", (NR > 1 ? " " : ""), $1, $2 }' <<<"$lines"))"
      return 0
    fi
  fi
  read -r ver name port status owner data _ <<<"$line"
  PG_CLUSTER=$ver/$name
  if [[ $status != online ]]; then
    if [[ $status == *recovery* ]]; then
      problem "PostgreSQL $PG_CLUSTER is a standby ($status): archive and back up from the primary"
    else
      problem "PostgreSQL $PG_CLUSTER is $status: start it (pg_ctlcluster $ver $name start) and re-run"
    fi
    return 0
  fi
  local conf=/etc/postgresql/$ver/$name/postgresql.conf
  if ! grep -Eq "^[[:space:]]*include_dir[[:space:]]*=?[[:space:]]*'conf\\.d'" "$SYSROOT$conf" 2>/dev/null; then
    problem "$conf does not include_dir 'conf.d' (Debian's default), where --pgbackrest puts its settings: add that line, or set the archive settings of docs/INFRASTRUCTURE.md yourself"
    return 0
  fi
  PG_VER=$ver PG_NAME=$name PG_PORT=$port PG_OWNER=$owner PG_DATA=$data
  PG_DROPIN=/etc/postgresql/$ver/$name/conf.d/90-mealsync-archiving.conf
  PG_FOUND=1
  ok "PostgreSQL $PG_CLUSTER: port $port, data $data, run by $owner"
}

# systemd_running: systemd is PID 1 (sd_booted's test), so timers work.
systemd_running() { command -v systemctl >/dev/null && [[ -d $SYSROOT/run/systemd/system ]]; }

# as_pg COMMAND...: runs COMMAND as the cluster's owner, as pgBackRest and
# PostgreSQL's peer authentication need.
as_pg() { runuser -u "$PG_OWNER" -- "$@"; }

pg_query() { as_pg psql -X -A -t -q -p "$PG_PORT" -d postgres -c "$1"; }

pg_reload() { pg_query "SELECT pg_reload_conf()" >/dev/null; }

# pg_archive_failure: the WAL segment and time of the archiver's latest failure
# when no segment has been archived since, or nothing (read-only).
pg_archive_failure() {
  pg_query "SELECT last_failed_wal || ' at ' || last_failed_time FROM pg_stat_archiver WHERE last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time)" 2>/dev/null || true
}

# pg_live_settings: "name=value" lines of the running server's archive settings,
# or nothing when it cannot be asked (a dry run as another user).
pg_live_settings() {
  pg_query "SELECT name || '=' || setting FROM pg_settings WHERE name IN ('archive_mode', 'archive_command', 'archive_timeout', 'wal_level') ORDER BY name" 2>/dev/null || true
}

pgbackrest_conf() {
  cat <<EOC
# pgBackRest for MealSync's PostgreSQL $PG_CLUSTER, written by scripts/initial-setup.sh
# --pgbackrest (re-running it restores this file; put other settings, such as the
# second repository below, in /etc/pgbackrest/conf.d/*.conf, which pgBackRest reads too).
# Restore runbook: docs/INFRASTRUCTURE.md, "Continuous archiving and point-in-time recovery".
[global]
repo1-path=$PGBR_REPO
# Two full backups (weekly) and the WAL needed to restore to any moment since the older one.
repo1-retention-full=2
compress-type=zst
# Backups start at once (an immediate checkpoint) instead of at the next scheduled one.
start-fast=y
log-level-console=info
log-level-file=detail

# A second repository on S3-compatible storage (AWS S3, MinIO, Cloudflare R2, ...),
# encrypted, so a lost server loses nothing but the last archive_timeout seconds.
# Put these lines, filled in, in /etc/pgbackrest/conf.d/repo2.conf (mode 0640, owner
# postgres), then, as postgres: pgbackrest --stanza=$STANZA stanza-create && pgbackrest --stanza=$STANZA check
# [global]
# repo2-type=s3
# repo2-s3-bucket=mealsync-pgbackrest
# repo2-s3-endpoint=s3.eu-central-1.amazonaws.com
# repo2-s3-region=eu-central-1
# repo2-s3-key=ACCESS_KEY
# repo2-s3-key-secret=SECRET_KEY
# repo2-s3-uri-style=path
# repo2-path=/pgbackrest
# repo2-retention-full=4
# repo2-cipher-type=aes-256-cbc
# repo2-cipher-pass=A_LONG_RANDOM_PASSPHRASE

[$STANZA]
pg1-path=$PG_DATA
pg1-port=$PG_PORT
EOC
}

# archiving_conf LIVE: the drop-in; LIVE is the server's settings, to keep a
# wal_level of logical (which archiving allows too).
archiving_conf() {
  cat <<EOC
# Continuous WAL archiving to pgBackRest (stanza $STANZA), written by MealSync
# scripts/initial-setup.sh --pgbackrest (re-running it restores this file).
# archive_mode and wal_level take effect only when PostgreSQL restarts.
archive_mode = on
archive_command = '$ARCHIVE_COMMAND'
# A WAL segment is archived at least every minute, even on a quiet database: at
# most this many seconds of commits are lost with the machine (the RPO).
archive_timeout = $ARCHIVE_TIMEOUT
EOC
  if grep -qx 'wal_level=logical' <<<"$1"; then
    echo "# wal_level is left at logical (set elsewhere), which archiving allows."
  else
    echo "wal_level = replica"
  fi
}

pgbackrest_unit() {
  cat <<EOC
# Written by MealSync scripts/initial-setup.sh --pgbackrest.
[Unit]
Description=pgBackRest %i backup of PostgreSQL $PG_CLUSTER (stanza $STANZA)
After=postgresql@$PG_VER-$PG_NAME.service
[Service]
Type=oneshot
User=$PG_OWNER
ExecStart=/usr/bin/pgbackrest --stanza=$STANZA --type=%i backup
EOC
}

pgbackrest_timer() {
  cat <<EOC
# Written by MealSync scripts/initial-setup.sh --pgbackrest.
[Unit]
Description=pgBackRest $1 backup of PostgreSQL $PG_CLUSTER
[Timer]
OnCalendar=$2 *-*-* 01:30:00 UTC
Persistent=true
Unit=mealsync-pgbackrest@$1.service
[Install]
WantedBy=timers.target
EOC
}

pgbackrest_cron() {
  cat <<EOC
# pgBackRest backups of PostgreSQL $PG_CLUSTER, written by MealSync scripts/initial-setup.sh
# --pgbackrest: a full backup on Sundays, a differential one the other days (01:30).
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
30 1 * * 0   $PG_OWNER pgbackrest --stanza=$STANZA --type=full backup
30 1 * * 1-6 $PG_OWNER pgbackrest --stanza=$STANZA --type=diff backup
EOC
}

do_pgbackrest_schedule() {
  if ! systemd_running; then
    ensure_file "$PGBR_CRON" 0644 root "$(pgbackrest_cron)"$'\n'
    return 0
  fi
  local unit=$PGBR_UNIT_DIR/mealsync-pgbackrest@.service changed=0 kind
  same_content "$SYSROOT$unit" "$(pgbackrest_unit)"$'\n' || changed=1
  ensure_file "$unit" 0644 root "$(pgbackrest_unit)"$'\n'
  for kind in full:Sun diff:Mon..Sat; do
    same_content "$SYSROOT$PGBR_UNIT_DIR/mealsync-pgbackrest-${kind%:*}.timer" "$(pgbackrest_timer "${kind%:*}" "${kind#*:}")"$'\n' || changed=1
    ensure_file "$PGBR_UNIT_DIR/mealsync-pgbackrest-${kind%:*}.timer" 0644 root "$(pgbackrest_timer "${kind%:*}" "${kind#*:}")"$'\n'
  done
  if ((changed)); then
    act "reload systemd's units (systemctl daemon-reload)" systemctl daemon-reload
  fi
  for kind in full diff; do
    local timer=mealsync-pgbackrest-$kind.timer
    if systemctl is-enabled --quiet "$timer" 2>/dev/null && systemctl is-active --quiet "$timer" 2>/dev/null; then
      ok "$timer already enabled and running"
    else
      act "enable and start $timer (systemctl enable --now $timer)" systemctl enable --now "$timer"
    fi
  done
}

do_pgbackrest() {
  ((PGBACKREST)) || return 0
  step "point-in-time recovery: pgBackRest for PostgreSQL ${PG_CLUSTER:-?}"
  if ((!PG_FOUND)); then
    warn "no PostgreSQL cluster to set up (see the preflight warnings): nothing planned for pgBackRest"
    return 0
  fi
  local live want_cmd was before_conf=0 before_dropin=0 pgbr=(pgbackrest "--stanza=$STANZA") verify=0
  live=$(pg_live_settings)
  ensure_dir "$PGBR_REPO" 0750 "$PG_OWNER"
  same_content "$SYSROOT$PGBR_CONF" "$(pgbackrest_conf)"$'\n' && before_conf=1
  ensure_file "$PGBR_CONF" 0640 "$PG_OWNER" "$(pgbackrest_conf)"$'\n'
  # pgBackRest reads conf.d/*.conf too: the operator's own settings (a second repository).
  ensure_dir "${PGBR_CONF%/*}/conf.d" 0750 "$PG_OWNER"
  same_content "$SYSROOT$PG_DROPIN" "$(archiving_conf "$live")"$'\n' && before_dropin=1
  ensure_file "$PG_DROPIN" 0644 "$PG_OWNER" "$(archiving_conf "$live")"$'\n'
  ((before_conf && before_dropin)) || verify=1

  want_cmd="archive_command=$ARCHIVE_COMMAND"
  if [[ -z $live ]]; then
    ((DRY_RUN)) || die "cannot ask PostgreSQL $PG_CLUSTER for its settings (psql as $PG_OWNER on port $PG_PORT)"
    warn "cannot ask PostgreSQL $PG_CLUSTER for its settings (dry run as another user?): assuming archiving is off"
    live="archive_mode=off"
  fi
  if ! grep -qx 'archive_mode=on' <<<"$live" || grep -qx 'wal_level=minimal' <<<"$live"; then
    act "restart PostgreSQL $PG_CLUSTER (pg_ctlcluster $PG_VER $PG_NAME restart): archive_mode and wal_level take effect only at a restart; its connections drop for a moment" \
      pg_ctlcluster "$PG_VER" "$PG_NAME" restart
    verify=1
  elif ! grep -qxF -- "$want_cmd" <<<"$live" || ! grep -qx "archive_timeout=$ARCHIVE_TIMEOUT" <<<"$live"; then
    was=$(sed -n 's/^archive_command=//p' <<<"$live")
    act "reload PostgreSQL $PG_CLUSTER's configuration (archive_command, archive_timeout; archive_command was: ${was:-none})" pg_reload
    verify=1
  else
    ok "PostgreSQL $PG_CLUSTER already archives with pgBackRest (archive_mode on, archive_timeout ${ARCHIVE_TIMEOUT}s)"
  fi

  if [[ -f $SYSROOT$PGBR_REPO/backup/$STANZA/backup.info && -f $SYSROOT$PGBR_REPO/archive/$STANZA/archive.info ]]; then
    ok "stanza $STANZA already in $PGBR_REPO"
  else
    act "create the stanza $STANZA in $PGBR_REPO (pgbackrest stanza-create, as $PG_OWNER)" as_pg "${pgbr[@]}" stanza-create
    verify=1
  fi
  if ((verify)); then
    act "check that PostgreSQL's WAL reaches the repository (pgbackrest check, as $PG_OWNER)" as_pg "${pgbr[@]}" check
  else
    local failure
    failure=$(pg_archive_failure)
    if [[ -n $failure ]]; then
      warn "PostgreSQL $PG_CLUSTER fails to archive its WAL: nothing archived since it failed on $failure (the cause is in its log; then: sudo -u $PG_OWNER pgbackrest --stanza=$STANZA check)"
    else
      ok "archiving already checked, and no failure since the last archived segment (again at any time: sudo -u $PG_OWNER pgbackrest --stanza=$STANZA check)"
    fi
  fi
  if compgen -G "$SYSROOT$PGBR_REPO/backup/$STANZA/*F" >/dev/null; then
    ok "a full backup is already in $PGBR_REPO"
  else
    act "take the first full backup (pgbackrest --type=full backup, as $PG_OWNER): until one exists there is nothing to restore from" \
      as_pg "${pgbr[@]}" --type=full backup
  fi
  do_pgbackrest_schedule
}

next_steps() {
  local how
  if [[ $MODE == compose ]]; then
    how="  3. As $DEPLOY_USER, put the repository's docker-compose.prod.yml and nginx/ in /opt/mealsync
     (its .env is a link to $ENV_FILE) and deploy from there:
       cd /opt/mealsync && MEALSYNCCTL_STATE_DIR=/var/lib/mealsyncctl mealsyncctl deploy --driver compose --tag TAG"
  else
    how="  3. nginx already runs MealSync's configuration from /etc/nginx (installed above; its
     upstream has no instance yet). Put a mealsync release in /opt/mealsync and deploy, as
     root (nginx -t and nginx -s reload need it). Every mealsyncctl command finds its state
     through MEALSYNCCTL_STATE_DIR: keep it in root's profile for the commands after this one.
       echo 'export MEALSYNCCTL_STATE_DIR=/var/lib/mealsyncctl' >>~/.profile && . ~/.profile
       mealsyncctl deploy --binary /opt/mealsync/releases/VERSION/mealsync \\
         --env-file $ENV_FILE --workdir /var/lib/mealsync \\
         --nginx-conf /etc/nginx/nginx.conf --upstream-file /etc/nginx/upstream.conf"
  fi
  cat <<EOF

Next steps:
  1. Fill in $ENV_FILE (MEALSYNC_DATABASE_URL at least).
  2. Check you can log in as $DEPLOY_USER over SSH before closing this session.
$how
  4. Point your domain's DNS at this server, then: sudo scripts/setup-ssl.sh --domain DOMAIN --email EMAIL --mode $MODE
  5. Watch it: mealsyncctl monitor (or scripts/monitor.sh)
EOF
  if ((PGBACKREST && PG_FOUND)); then
    cat <<EOF
  6. PostgreSQL $PG_CLUSTER archives to pgBackRest ($PGBR_REPO): copy backups off this
     machine too (a second repository on S3-compatible storage: see $PGBR_CONF), and
     rehearse the restore runbook in docs/INFRASTRUCTURE.md ("Continuous archiving").
     Backups so far: sudo -u $PG_OWNER pgbackrest --stanza=$STANZA info
EOF
  fi
}

main() {
  ((DRY_RUN)) && echo "dry run: nothing will be changed"
  step "preflight"
  check_root
  check_os
  check_ssh_key_file
  check_sshd_port
  check_nginx_src
  check_pg_cluster
  plan_packages

  do_packages
  do_service
  do_user
  do_firewall
  do_swap
  do_sysctl
  do_upgrades
  do_folders
  do_nginx_limits
  do_nginx_config
  do_pgbackrest

  if ((DRY_RUN)); then
    printf '\ndry run complete: the "would:" lines above are every change a real run would make\n'
  else
    printf '\nserver ready\n'
  fi
  next_steps
}

main
