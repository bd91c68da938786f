"""`manage.py mqtt_sync_auth`: write Mosquitto's password and ACL files from the registry."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from iot.bridges.mqtt_auth import auth_files_write, broker_reload, config_write


class Command(BaseCommand):
    help = ("Write the password file and ACL of the project's Mosquitto from the device registry "
            "(and, with --config, its mosquitto.conf); with --pid-file, make the broker reload them.")

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=settings.MQTT_AUTH_DIR,
                            help="Where passwd, acl (and mosquitto.conf) go. Default MQTT_AUTH_DIR.")
        parser.add_argument("--config", action="store_true",
                            help="Also render deploy/mosquitto/mosquitto.conf.template into --dir.")
        parser.add_argument("--port", type=int, default=settings.MQTT_PORT, help="Listener port (--config).")
        parser.add_argument("--host", default="127.0.0.1", help="Listener address (--config).")
        parser.add_argument("--device-port", type=int, default=settings.MQTT_DEVICE_PORT,
                            help="Devices' listener port (--config).")
        parser.add_argument("--device-host", default=settings.MQTT_DEVICE_HOST,
                            help="Devices' listener address (--config), also of the TLS listeners.")
        parser.add_argument("--tls-port", type=int, default=settings.MQTT_TLS_PORT,
                            help="Devices' TLS listener with passwords (--config); 0: none.")
        parser.add_argument("--tls-cert-port", type=int, default=settings.MQTT_TLS_CERT_PORT,
                            help="Devices' TLS listener with client certificates (--config); 0: none.")
        parser.add_argument("--pid-file", type=Path, default=None,
                            help="Send SIGHUP to the broker with this pid file (reload). "
                                 "Default: <dir>/mosquitto.pid when it exists.")

    def handle(self, *args, **options):
        directory = options["dir"]
        if options["config"]:
            path = config_write(port=options["port"], directory=directory, host=options["host"],
                                device_port=options["device_port"], device_host=options["device_host"],
                                tls_port=options["tls_port"], tls_cert_port=options["tls_cert_port"])
            self.stdout.write(f"config: {path}")
        pid_file = options["pid_file"] or directory / "mosquitto.pid"
        files = auth_files_write(directory=directory)
        reloaded = pid_file.exists() and broker_reload(pid_file)
        self.stdout.write(f"passwd: {files.password_file} ({files.users} accounts); acl: {files.acl_file}"
                          + ("; broker reloaded" if reloaded else ""))
