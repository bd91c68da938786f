#!/usr/bin/env bash
# Starts web (ASGI), Celery worker and beat, and the IoT processes together in the
# foreground; Ctrl-C stops every one of them (honcho forwards the signal to all).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
# Prometheus multiprocess mode: every process (web workers, Celery, bridge, pollers) writes its
# metrics here and /metrics adds them up; emptied at each start so old runs do not add up.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/prometheus}
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
port=${WEB_PORT:-8000}
# Flower's password: FLOWER_PASSWORD, else one generated once and kept in var/flower-password
if [ -z "${FLOWER_PASSWORD:-}" ]; then
  [ -s var/flower-password ] || (umask 077 && .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(18))" > var/flower-password)
  FLOWER_PASSWORD=$(cat var/flower-password)
fi
export FLOWER_PASSWORD
cat <<MSG

  CommonWatt is starting:
    portal      http://127.0.0.1:${port}/
    back office http://127.0.0.1:${port}/admin/
    API docs    http://127.0.0.1:${port}/api/v1/docs/
    health      http://127.0.0.1:${port}/health
    metrics     http://127.0.0.1:${port}/metrics  (Authorization: Bearer \$METRICS_TOKEN)
    Flower      http://127.0.0.1:${FLOWER_PORT:-5555}/  (user ${FLOWER_USER:-admin}, password in var/flower-password or \$FLOWER_PASSWORD)

  Ctrl-C stops everything.
MSG
exec .venv/bin/honcho -f Procfile start
