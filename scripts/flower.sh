#!/usr/bin/env bash
# Flower (Celery monitoring) on loopback only, behind HTTP basic auth; its assets are its own
# (served by Flower from the installed package, nothing from a CDN).
# FLOWER_USER (default admin) / FLOWER_PASSWORD (required), FLOWER_PORT (default 5555).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FLOWER_PASSWORD:?FLOWER_PASSWORD must be set (make run generates one in var/flower-password)}"
# the credentials go through the environment (Flower reads FLOWER_BASIC_AUTH), not argv
export FLOWER_BASIC_AUTH="${FLOWER_USER:-admin}:${FLOWER_PASSWORD}"
unset FLOWER_PASSWORD FLOWER_USER
exec .venv/bin/celery -A config flower --address=127.0.0.1 --port="${FLOWER_PORT:-5555}" \
    --url_prefix="" --purge_offline_workers=60 "$@"
