#!/usr/bin/env bash
# Starts web (ASGI), Celery worker and beat, and the IoT processes together in the
# foreground; Ctrl-C stops every one of them (honcho forwards the signal to all).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
port=${WEB_PORT:-8000}
cat <<MSG

  CommonWatt is starting:
    portal      http://127.0.0.1:${port}/
    back office http://127.0.0.1:${port}/admin/
    API docs    http://127.0.0.1:${port}/api/v1/docs/
    health      http://127.0.0.1:${port}/health

  Ctrl-C stops everything.
MSG
exec .venv/bin/honcho -f Procfile start
