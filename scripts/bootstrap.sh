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
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- system packages -------------------------------------------------------------------
pkgs=(python3-venv python3-dev gdal-bin libgdal-dev postgresql postgresql-contrib
      postgis redis-server mosquitto mosquitto-clients nodejs npm curl)
pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1 || true)
pkgs+=("postgresql-${pg_major:-15}-postgis-3")
(( want_test )) && pkgs+=(chromium)
missing=()
for p in "${pkgs[@]}"; do
  # node/npm may come from elsewhere (nvm, NodeSource): only ask apt when the command is absent.
  [[ ( $p == nodejs || $p == npm ) ]] && command -v npm >/dev/null && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  log "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- services: start one only if nothing already answers on its port --------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 50); do port_open "$1" && return 0; sleep 0.2; done; return 1; }

if ! port_open 5432; then
  log "starting PostgreSQL"
  ver=$(ls /etc/postgresql | sort -n | tail -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  wait_port 5432
fi
if ! port_open 6379; then
  log "starting Redis"
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_port 6379
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
