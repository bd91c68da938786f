"""`manage.py mqtt_tls_dev`: the development CA and server certificate of the project's
Mosquitto (created only when missing), and device client certificates signed by that CA."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from iot.bridges.mqtt_tls import client_certificate_issue, dev_certificates_ensure


class Command(BaseCommand):
    help = ("Create the development CA and server certificate of the project's Mosquitto in "
            "MQTT_TLS_DIR when missing; with --client SERIAL, issue that device a client certificate.")

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=settings.MQTT_TLS_DIR,
                            help="Where ca.crt, ca.key, server.crt, server.key go. Default MQTT_TLS_DIR.")
        parser.add_argument("--host", action="append", default=[],
                            help="Another name or address devices dial (repeatable); the server "
                                 "certificate is issued again when it lacks one.")
        parser.add_argument("--client", metavar="SERIAL",
                            help="Issue a client certificate (CN = SERIAL) for this registered device.")
        parser.add_argument("--out", type=Path, default=None,
                            help="Where the client certificate and key go. Default <dir>/clients.")

    def handle(self, *args, **options):
        files = dev_certificates_ensure(directory=options["dir"], hosts=options["host"])
        if options["verbosity"] > 0:
            self.stdout.write(f"CA (give it to devices): {files.ca_file}; server: {files.cert_file}")
        serial = options["client"]
        if not serial:
            return
        from iot.models import Device

        if not Device.objects.filter(serial=serial).exists():
            raise CommandError(f"no device with serial {serial!r} in the registry")
        try:
            issued = client_certificate_issue(serial=serial, ca_directory=options["dir"],
                                              out_directory=options["out"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"client certificate: {issued.cert_file}; key: {issued.key_file}")
