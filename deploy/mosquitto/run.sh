#!/usr/bin/env bash
# The project's Mosquitto for `make run` (Procfile `mqtt:`): renders the config from
# deploy/mosquitto/mosquitto.conf.template, writes the password/ACL files from the device
# registry, then runs the broker in the foreground on MQTT_PORT (default 1884; the devices'
# listener on MQTT_DEVICE_PORT, default 1885; over TLS on MQTT_TLS_PORT, default 8883, and with
# client certificates on MQTT_TLS_CERT_PORT, default 8884, with the development certificates of
# var/mqtt-tls unless MQTT_TLS_CERT_FILE names others). Its pid is
# written so `manage.py mqtt_sync_auth` can make it reload after devices change.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${MQTT_AUTH_DIR:-var/mosquitto}
rm -f "$dir/mosquitto.pid"
.venv/bin/python manage.py mqtt_sync_auth --config --dir "$dir" --port "${MQTT_PORT:-1884}" \
    --device-port "${MQTT_DEVICE_PORT:-1885}" --device-host "${MQTT_DEVICE_HOST:-127.0.0.1}"
echo $$ > "$dir/mosquitto.pid"
exec /usr/sbin/mosquitto -c "$dir/mosquitto.conf"
