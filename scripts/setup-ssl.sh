#!/usr/bin/env bash
# HTTPS for MealSync: a Let's Encrypt certificate through the ACME webroot that
# nginx already serves on port 80, the HTTPS server block of nginx/conf.d
# enabled for the domain, a renewal hook that reloads nginx, and a test renewal.
#
# Every step looks before it leaps: a second run changes nothing and says
# "already ...". Nothing changes before every check has passed, and an HTTPS
# block that nginx rejects is removed again. --dry-run prints each change it
# would make as a line starting with "would: ". See --help.
set -euo pipefail

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG --domain DOMAIN --email EMAIL [options]

Obtains a Let's Encrypt certificate for DOMAIN and switches MealSync's nginx to
HTTPS. Run as root on the server, after scripts/initial-setup.sh, with the
domain's DNS pointing at the server and nginx serving plain HTTP on port 80.

Required:
  --domain DOMAIN        the public host name, e.g. api.example.org
  --email EMAIL          where Let's Encrypt sends expiry warnings

Options:
  --mode compose|process how nginx runs (default: compose)
                           compose: the nginx service of docker-compose.prod.yml
                           process: nginx on the host (mealsyncctl's process driver)
  --app-dir DIR          compose: the folder with docker-compose.prod.yml, its .env
                         and nginx/ (default: /opt/mealsync)
  --nginx-dir DIR        the nginx configuration folder, which holds nginx.conf and
                         conf.d/https.conf.disabled (default: APP_DIR/nginx in compose
                         mode, /etc/nginx in process mode)
  --webroot DIR          the host folder nginx serves /.well-known/acme-challenge/
                         from (default: MEALSYNC_CERTBOT_WEBROOT from APP_DIR/.env in
                         compose mode, else /var/www/certbot)
  --staging              use Let's Encrypt's staging service (untrusted test
                         certificates, generous rate limits): try this first
  --force                run on an OS this script does not know (at your own risk)
  --dry-run              print every change as "would: ..." and change nothing;
                         root, OS and nginx problems become warnings
  -h, --help             show this help

What it does, each step only if not already done:
  certbot     installs Debian's certbot package (its systemd timer renews)
  webroot     creates the webroot folder
  certificate checks that http://DOMAIN/.well-known/acme-challenge/ reaches the
              webroot (so a DNS or firewall mistake costs no Let's Encrypt attempt),
              then: certbot certonly --webroot -w WEBROOT -d DOMAIN --cert-name DOMAIN
              --email EMAIL --agree-tos --non-interactive [--staging]. Skipped when
              /etc/letsencrypt/live/DOMAIN/fullchain.pem names DOMAIN and is valid
              for more than 30 more days (certbot's own renewal threshold)
  https       writes NGINX_DIR/conf.d/https.conf from https.conf.disabled with
              example.com replaced by DOMAIN (nginx.conf includes conf.d/*.conf)
  reload      nginx -t, then nginx -s reload (compose: docker compose -f
              APP_DIR/docker-compose.prod.yml exec -T nginx nginx ...); if nginx
              rejects the new block, https.conf is removed again
  hook        /etc/letsencrypt/renewal-hooks/deploy/mealsync-reload-nginx.sh: after
              every renewal, nginx -t and reload nginx the same way
  renewal     certbot renew --dry-run --cert-name DOMAIN (run every time)

Exit status: 0 on success, 1 when a check or step fails, 2 on bad usage.

Testing seams (environment; leave unset on a real server):
  MEALSYNC_OS_RELEASE  os-release file to read instead of /etc/os-release
  MEALSYNC_SYSROOT     directory prefixed to every file the script reads or writes
                       (/etc, /opt, /var, /run), so tests can run it against a
                       sandbox tree; commands still come from PATH
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

# check DESCRIPTION COMMAND...: like act, for steps that change no state
# (nginx reload, a test renewal) but that a dry run must not run either.
check() { run_as run "$@"; }

on_exit() { report_failed_step "$?"; }
trap on_exit EXIT

# ---- arguments ---------------------------------------------------------------

DOMAIN=
EMAIL=
MODE=compose
APP_DIR=/opt/mealsync
NGINX_DIR=
WEBROOT=
STAGING=0
FORCE=0
DRY_RUN=0
SYSROOT=${MEALSYNC_SYSROOT:-}
OS_RELEASE=${MEALSYNC_OS_RELEASE:-$SYSROOT/etc/os-release}
RENEW_DAYS=30


while (($#)); do
  case $1 in
    --domain) DOMAIN=$(need_value "$@"); shift ;;
    --domain=*) DOMAIN=${1#*=} ;;
    --email) EMAIL=$(need_value "$@"); shift ;;
    --email=*) EMAIL=${1#*=} ;;
    --mode) MODE=$(need_value "$@"); shift ;;
    --mode=*) MODE=${1#*=} ;;
    --app-dir) APP_DIR=$(need_value "$@"); shift ;;
    --app-dir=*) APP_DIR=${1#*=} ;;
    --nginx-dir) NGINX_DIR=$(need_value "$@"); shift ;;
    --nginx-dir=*) NGINX_DIR=${1#*=} ;;
    --webroot) WEBROOT=$(need_value "$@"); shift ;;
    --webroot=*) WEBROOT=${1#*=} ;;
    --staging) STAGING=1 ;;
    --force) FORCE=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

# valid_hostname NAME: a public DNS name Let's Encrypt can issue for: labels of
# letters, digits and inner hyphens (at most 63), at least two of them, a top
# label that starts with a letter (so no IP addresses), 253 characters in all.
# No wildcards: the webroot challenge cannot prove them.
valid_hostname() {
  ((${#1} <= 253)) &&
    [[ $1 =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ ]]
}

[[ -n $DOMAIN ]] || usage_error "--domain is required (the host name to get a certificate for, e.g. api.example.org)"
DOMAIN=${DOMAIN,,}
valid_hostname "$DOMAIN" ||
  usage_error "--domain '$DOMAIN' is not a valid host name (like api.example.org: letters, digits, hyphens and dots; no scheme, port, path, wildcard or IP address)"
[[ -n $EMAIL ]] || usage_error "--email is required (Let's Encrypt sends expiry warnings there)"
if [[ ! $EMAIL =~ ^[A-Za-z0-9._%+-]+@([^@]+)$ ]] || ! valid_hostname "${BASH_REMATCH[1],,}"; then
  usage_error "--email '$EMAIL' is not a valid e-mail address (like ops@example.org)"
fi
case $MODE in
  compose | process) ;;
  *) usage_error "--mode must be compose or process, not '$MODE'" ;;
esac
for dir_opt in "--app-dir:$APP_DIR" "--nginx-dir:$NGINX_DIR" "--webroot:$WEBROOT"; do
  value=${dir_opt#*:}
  [[ -z $value || $value == /* ]] || usage_error "${dir_opt%%:*} must be an absolute path, not '$value'"
  [[ $value != *[[:space:]]* ]] || usage_error "${dir_opt%%:*} must not contain spaces: '$value'"
done
APP_DIR=${APP_DIR%/}
if [[ -z $NGINX_DIR ]]; then
  if [[ $MODE == compose ]]; then NGINX_DIR=$APP_DIR/nginx; else NGINX_DIR=/etc/nginx; fi
fi
NGINX_DIR=${NGINX_DIR%/}
COMPOSE_FILE=$APP_DIR/docker-compose.prod.yml
COMPOSE_ENV=$APP_DIR/.env
TEMPLATE=$NGINX_DIR/conf.d/https.conf.disabled
HTTPS_CONF=$NGINX_DIR/conf.d/https.conf
LIVE_DIR=/etc/letsencrypt/live/$DOMAIN
HOOK=/etc/letsencrypt/renewal-hooks/deploy/mealsync-reload-nginx.sh

# ---- preflight: nothing below changes anything until all of these pass -------





# env_value KEY FILE: KEY's last value in a compose .env file, quotes removed.
env_value() {
  sed -n "s/^[[:space:]]*$1=//p" "$2" 2>/dev/null | tail -n 1 |
    sed -e 's/[[:space:]]\{1,\}#.*$//' -e "s/^[\"']//" -e "s/[\"']\$//"
}

# In compose mode nginx sees only what docker-compose.prod.yml mounts: the
# certificates from MEALSYNC_CERTS_DIR, which must be certbot's /etc/letsencrypt,
# and the webroot from MEALSYNC_CERTBOT_WEBROOT.
check_compose() {
  [[ -f $SYSROOT$COMPOSE_FILE ]] ||
    { problem "no $COMPOSE_FILE: put the repository's compose file there, or pass --app-dir"; return 0; }
  [[ -f $SYSROOT$COMPOSE_ENV ]] ||
    { problem "no $COMPOSE_ENV (docker compose needs it; scripts/initial-setup.sh links it to /etc/mealsync/env)"; return 0; }
  local certs webroot
  certs=$(env_value MEALSYNC_CERTS_DIR "$SYSROOT$COMPOSE_ENV")
  [[ ${certs%/} == /etc/letsencrypt ]] ||
    problem "the nginx container mounts its certificates from ${certs:-./certs (the default)}, but certbot writes them to /etc/letsencrypt: set MEALSYNC_CERTS_DIR=/etc/letsencrypt in $COMPOSE_ENV, recreate nginx (docker compose -f $COMPOSE_FILE up -d nginx), and re-run"
  if [[ -z $WEBROOT ]]; then
    webroot=$(env_value MEALSYNC_CERTBOT_WEBROOT "$SYSROOT$COMPOSE_ENV")
    webroot=${webroot:-./certbot-www}
    [[ $webroot == /* ]] || webroot=$APP_DIR/${webroot#./}
    WEBROOT=${webroot%/}
  fi
}

# The HTTPS block ships disabled in conf.d with example.com for the domain.
check_nginx_dir() {
  if [[ ! -f $SYSROOT$NGINX_DIR/nginx.conf ]]; then
    problem "no nginx.conf in $NGINX_DIR: pass --nginx-dir, the folder holding MealSync's nginx configuration (the repository's nginx/)"
    return 0
  fi
  if [[ -f $SYSROOT$HTTPS_CONF ]]; then
    grep -qF "/etc/letsencrypt/live/$DOMAIN/" "$SYSROOT$HTTPS_CONF" ||
      problem "$HTTPS_CONF is already enabled for another domain (it does not use $LIVE_DIR): move it away and re-run"
  elif [[ ! -f $SYSROOT$TEMPLATE ]]; then
    problem "no HTTPS block to enable: $TEMPLATE is missing"
  elif ! grep -q 'example\.com' "$SYSROOT$TEMPLATE"; then
    problem "$TEMPLATE has no example.com placeholder to replace with $DOMAIN"
  fi
}

# nginx must be up: it answers the ACME challenge and is reloaded at the end.
nginx_running() {
  if [[ $MODE == compose ]]; then
    docker compose -f "$SYSROOT$COMPOSE_FILE" ps --status running --services 2>/dev/null | grep -qx nginx
  else
    local pid
    pid=$(cat "$SYSROOT/run/nginx.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]]
  fi
}

check_nginx_running() {
  if nginx_running; then
    ok "nginx is running ($MODE)"
  elif [[ $MODE == compose ]]; then
    problem "the nginx service is not running: start the stack (docker compose -f $COMPOSE_FILE up -d) so port 80 answers the ACME challenge"
  else
    problem "nginx is not running (no live process in /run/nginx.pid): start it so port 80 answers the ACME challenge"
  fi
}

# ---- probes (read-only) ------------------------------------------------------

# cert_state: "ok" when the live certificate names DOMAIN, is valid for more than
# RENEW_DAYS and is trusted (not staging) unless --staging; otherwise why not.
cert_state() {
  local crt=$SYSROOT$LIVE_DIR/fullchain.pem
  [[ -r $crt ]] || { echo missing; return 0; }
  openssl x509 -in "$crt" -noout -checkend $((RENEW_DAYS * 86400)) >/dev/null 2>&1 ||
    { echo "expiring"; return 0; }
  openssl x509 -in "$crt" -noout -ext subjectAltName 2>/dev/null | tr ',' '\n' | sed 's/^[[:space:]]*//' |
    grep -qxF "DNS:$DOMAIN" || { echo "wrong-name"; return 0; }
  if ! ((STAGING)) && openssl x509 -in "$crt" -noout -issuer | grep -q STAGING; then
    echo staging
    return 0
  fi
  echo ok
}

cert_end_date() {
  openssl x509 -in "$SYSROOT$LIVE_DIR/fullchain.pem" -noout -enddate | sed 's/^notAfter=//'
}

# ---- steps -------------------------------------------------------------------

CERTBOT_NEW=0

do_certbot() {
  step "certbot"
  if command -v certbot >/dev/null; then
    ok "certbot already installed ($(command -v certbot))"
  else
    act "refresh the package index (apt-get update)" apt-get update
    act "install certbot (apt-get install -y certbot)" env DEBIAN_FRONTEND=noninteractive apt-get install -y certbot
    CERTBOT_NEW=1
  fi
}

do_webroot() {
  step "ACME webroot $WEBROOT"
  if [[ -d $SYSROOT$WEBROOT ]]; then
    ok "$WEBROOT already exists"
  else
    act "create directory $WEBROOT (owner root, mode 0755)" install -d -m 0755 "$SYSROOT$WEBROOT"
  fi
}

# challenge_reachable: nginx serves a file put in the webroot at
# http://DOMAIN/.well-known/acme-challenge/, exactly as Let's Encrypt will fetch it.
challenge_reachable() {
  local dir=$SYSROOT$WEBROOT/.well-known/acme-challenge token got rc=0 made_dir=0
  token=mealsync-check-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  if [[ ! -d $dir ]]; then
    install -d -m 0755 "$dir"
    made_dir=1
  fi
  printf '%s\n' "$token" >"$dir/$token"
  chmod 0644 "$dir/$token"
  got=$(curl -fsS --max-time 15 "http://$DOMAIN/.well-known/acme-challenge/$token" 2>&1) || rc=$?
  rm -f "$dir/$token"
  if ((made_dir)); then rmdir "$dir" "${dir%/*}" 2>/dev/null || true; fi
  if ((rc != 0)) || [[ $got != "$token" ]]; then
    die "http://$DOMAIN/.well-known/acme-challenge/ does not serve files from $WEBROOT (${got:0:200}). Check that $DOMAIN's DNS points at this server, port 80 is open, and nginx serves the webroot there. No certificate was requested."
  fi
}

do_certificate() {
  step "certificate for $DOMAIN"
  local state args
  state=$(cert_state)
  if [[ $state == ok ]]; then
    ok "certificate for $DOMAIN already valid until $(cert_end_date) (renewal is certbot's job from 30 days before)"
    return 0
  fi
  case $state in
    missing) ;;
    expiring) warn "the certificate in $LIVE_DIR expires within $RENEW_DAYS days: renewing" ;;
    wrong-name) warn "the certificate in $LIVE_DIR does not name $DOMAIN: replacing it" ;;
    staging) warn "the certificate in $LIVE_DIR is a staging (untrusted) one: replacing it with a trusted one" ;;
  esac
  args=(certonly --webroot -w "$SYSROOT$WEBROOT" -d "$DOMAIN" --cert-name "$DOMAIN"
    --email "$EMAIL" --agree-tos --non-interactive --no-eff-email)
  ((STAGING)) && args+=(--staging)
  [[ $state == missing ]] || args+=(--force-renewal)
  check "check that http://$DOMAIN/.well-known/acme-challenge/ reaches $WEBROOT (a temporary file there, removed again)" \
    challenge_reachable
  act "obtain a certificate: certbot ${args[*]/#"$SYSROOT"/}" certbot "${args[@]}"
}

https_content() { sed "s/example\.com/$DOMAIN/g" "$SYSROOT$TEMPLATE"; }

ENABLED_NOW=0

do_https_block() {
  step "HTTPS server block"
  local content ids
  if [[ -f $SYSROOT$HTTPS_CONF ]]; then
    if grep -qF "$LIVE_DIR/" "$SYSROOT$HTTPS_CONF"; then
      ok "HTTPS block already enabled for $DOMAIN ($HTTPS_CONF)"
    else
      warn "$HTTPS_CONF is enabled for another domain: left alone"
    fi
    return 0
  fi
  content=$(https_content)$'\n'
  ids=$(stat -c '%u:%g' "$SYSROOT$NGINX_DIR/conf.d" 2>/dev/null || echo 0:0)
  act "enable the HTTPS block: write $HTTPS_CONF from ${TEMPLATE##*/} with example.com replaced by $DOMAIN" \
    write_file "$SYSROOT$HTTPS_CONF" 0644 "$ids" "$content"
  ENABLED_NOW=1
}

# nginx_cmd ARGS...: nginx the way this deployment runs it.
nginx_cmd() {
  if [[ $MODE == compose ]]; then
    docker compose -f "$SYSROOT$COMPOSE_FILE" exec -T nginx nginx "$@"
  else
    nginx "$@" -c "$SYSROOT$NGINX_DIR/nginx.conf"
  fi
}

test_and_reload() {
  local out
  if ! out=$(nginx_cmd -t -q 2>&1); then
    printf '%s\n' "$out" >&2
    if ((ENABLED_NOW)); then
      rm -f "$SYSROOT$HTTPS_CONF"
      die "nginx rejected the configuration (above), so $HTTPS_CONF was removed again; nginx keeps serving its old configuration"
    fi
    die "nginx rejects its configuration (above); fix it and re-run"
  fi
  nginx_cmd -s reload
}

do_reload() {
  step "nginx"
  check "test the nginx configuration (nginx -t) and reload nginx ($MODE)" test_and_reload
}

hook_content() {
  local conf=$NGINX_DIR/nginx.conf
  printf '%s\n' '#!/bin/sh' \
    "# Installed by MealSync's scripts/setup-ssl.sh ($MODE mode): certbot runs every" \
    '# script in renewal-hooks/deploy after it renewed a certificate; this one makes' \
    '# nginx serve the new certificate. Re-running setup-ssl.sh rewrites it.' \
    'set -e'
  if [[ $MODE == compose ]]; then
    printf '%s\n' "docker compose -f $COMPOSE_FILE exec -T nginx nginx -t -q" \
      "docker compose -f $COMPOSE_FILE exec -T nginx nginx -s reload"
  else
    printf '%s\n' "nginx -t -q -c $conf" "nginx -s reload -c $conf"
  fi
}

do_renew_hook() {
  step "renewal hook"
  local content
  content=$(hook_content)$'\n'
  if same_content "$SYSROOT$HOOK" "$content" && [[ -x $SYSROOT$HOOK ]]; then
    ok "renewal hook already installed ($HOOK)"
  elif [[ -f $SYSROOT$HOOK ]]; then
    act "rewrite the renewal hook $HOOK (reloads nginx after renewal)" write_file "$SYSROOT$HOOK" 0755 0:0 "$content"
  else
    act "install the renewal hook $HOOK (reloads nginx after renewal)" write_file "$SYSROOT$HOOK" 0755 0:0 "$content"
  fi
}

# Debian's certbot package renews from a systemd timer.
do_renew_timer() {
  if ! command -v systemctl >/dev/null; then
    warn "systemctl not found: make sure 'certbot renew' runs twice a day (cron)"
    return 0
  fi
  if systemctl is-enabled --quiet certbot.timer 2>/dev/null; then
    ok "certbot.timer already enabled (renews twice a day)"
  elif ((DRY_RUN && CERTBOT_NEW)); then
    ok "the certbot package brings certbot.timer, enabled (renews twice a day)"
  elif systemctl list-unit-files certbot.timer 2>/dev/null | grep -q '^certbot\.timer'; then
    act "enable certbot.timer (systemctl enable --now certbot.timer)" systemctl enable --now certbot.timer
  else
    warn "no certbot.timer: make sure 'certbot renew' runs twice a day (cron, or the timer of the certbot you installed)"
  fi
}

do_renew_test() {
  step "renewal test"
  local args=(renew --dry-run --cert-name "$DOMAIN" --non-interactive)
  check "test renewal against Let's Encrypt's staging service: certbot ${args[*]}" certbot "${args[@]}"
}

main() {
  ((DRY_RUN)) && echo "dry run: nothing will be changed"
  step "preflight"
  check_root
  check_os
  [[ $MODE == process ]] || check_compose
  WEBROOT=${WEBROOT:-/var/www/certbot}
  check_nginx_dir
  check_nginx_running

  do_certbot
  do_webroot
  do_certificate
  do_https_block
  do_reload
  do_renew_hook
  do_renew_timer
  do_renew_test

  if ((DRY_RUN)); then
    printf '\ndry run complete: the "would:" lines above are every change a real run would make\n'
  else
    printf '\nHTTPS is on: https://%s/ (nginx redirects plain HTTP there)\n' "$DOMAIN"
    ((STAGING)) && printf 'This is a staging (untrusted) certificate: re-run without --staging for a real one.\n'
  fi
  return 0
}

main
