#!/usr/bin/env bash
# Brings a fresh Debian machine (root, package registries reachable) to a state where the
# platform runs: system packages, local services, database role, virtualenv, front-end
# assets. Idempotent and quiet when everything is already there.
#   scripts/bootstrap.sh            # what `make run` needs
#   scripts/bootstrap.sh --test     # plus what the tests need (Chromium for browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

log() { printf '\033[1;32m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m!!\033[0m %s\n' "$*" >&2; exit 1; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- system packages -------------------------------------------------------------------
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
apt_updated=0
apt_install() {
  (( $# )) || return 0
  log "installing system packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  (( apt_updated )) || { as_root apt-get update -qq; apt_updated=1; }
  as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
pkgs=(python3-venv python3-dev build-essential gdal-bin libgdal-dev postgresql postgresql-contrib
      redis-server mosquitto mosquitto-clients curl ca-certificates gettext)
(( want_test )) && pkgs+=(chromium)
pkgs+=(fonts-dejavu-core)  # statements' PDFs: every Latin/Greek/Cyrillic name (statements/pdf.py)
# node/npm may come from elsewhere (nvm, NodeSource): only ask apt when the command is absent.
command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do have_pkg "$p" || missing+=("$p"); done
apt_install "${missing[@]}"
# PostGIS for the installed PostgreSQL major version (known only once postgresql is in).
pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1 || true)
[[ -n "$pg_major" ]] || die "PostgreSQL did not install (no /usr/lib/postgresql/<version>)"
have_pkg "postgresql-${pg_major}-postgis-3" || apt_install "postgresql-${pg_major}-postgis-3"

# --- services: start one only if nothing already answers on its port --------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 50); do port_open "$1" && return 0; sleep 0.2; done; return 1; }

if ! port_open 5432; then
  log "starting PostgreSQL ${pg_major}"
  [[ -d "/etc/postgresql/${pg_major}/main" ]] || as_root pg_createcluster "$pg_major" main >/dev/null
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_major" main start
  wait_port 5432 || die "PostgreSQL did not come up on port 5432"
fi
if ! port_open 6379; then
  log "starting Redis"
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_port 6379 || die "Redis did not come up on port 6379"
fi

# --- database role and database ---------------------------------------------------------
db_url="${DATABASE_URL:-postgis://commonwatt:commonwatt@127.0.0.1:5432/commonwatt}"
db_user=$(python3 -c "import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).username or '')" "$db_url")
db_pass=$(python3 -c "import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).password or '')" "$db_url")
db_name=$(python3 -c "import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).path.lstrip('/'))" "$db_url")
pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- psql -qtAX "$@"; else sudo -u postgres psql -qtAX "$@"; fi; }
if [[ -n "$db_user" ]] && ! pg -c "SELECT 1 FROM pg_roles WHERE rolname='$db_user'" | grep -q 1; then
  log "creating database role $db_user"
  # Superuser in development: the test runner creates databases with the postgis extension.
  pg -c "CREATE ROLE \"$db_user\" LOGIN SUPERUSER PASSWORD '$db_pass'"
fi
if [[ -n "$db_name" ]] && ! pg -c "SELECT 1 FROM pg_database WHERE datname='$db_name'" | grep -q 1; then
  log "creating database $db_name"
  pg -c "CREATE DATABASE \"$db_name\" OWNER \"$db_user\""
fi

# --- Python virtualenv ------------------------------------------------------------------
py=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  log "creating virtualenv .venv"
  "$py" -m venv .venv
fi
stamp=.venv/.requirements.sha
sum=$(cat requirements/*.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat $stamp)" != "$sum" ]]; then
  log "installing Python requirements"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements/dev.txt
  echo "$sum" > "$stamp"
fi

# --- front-end assets from the npm registry (nothing is fetched at run time) -------------
if [[ ! -f static/vendor/.stamp || package-lock.json -nt static/vendor/.stamp ]]; then
  log "installing front-end assets"
  npm ci --silent --no-audit --no-fund >/dev/null
  scripts/vendor_assets.sh
fi

# --- translations: the .mo catalogues are build output (gitignored), compiled here --------
log "compiling translations"
.venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

# --- development TLS certificates of the project's Mosquitto (var/mqtt-tls, only when missing)
.venv/bin/python manage.py mqtt_tls_dev -v 0
