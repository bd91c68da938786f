#!/usr/bin/env bash
# The web tier, the one way it is started (`make run`'s Procfile and production alike):
# gunicorn with WEB_WORKERS uvicorn processes (config/gunicorn.py), each with a database
# pool. Extra arguments go to gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
export DB_POOL=${DB_POOL:-1}
export DB_POOL_MIN=${DB_POOL_MIN:-1}
export DB_POOL_MAX=${DB_POOL_MAX:-8}
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then mkdir -p "$PROMETHEUS_MULTIPROC_DIR"; fi
exec .venv/bin/gunicorn config.asgi:application -c config/gunicorn.py "$@"
