"""Collect OPC UA data changes (subscriptions) into the ingest service."""

from django.core.management.base import BaseCommand, CommandError

from iot.bridges.command import run_until_stopped
from iot.bridges.opcua import OpcUaCollector


class Command(BaseCommand):
    help = (
        "Subscribe to the node ids of the active devices with protocol 'opcua' and ingest every "
        "data change (source 'opcua'). Security policy None is refused unless --allow-insecure "
        "or the device's connection.allow_insecure is set."
    )

    def add_arguments(self, parser):
        parser.add_argument("--device", action="append", default=[], metavar="SERIAL",
                            help="Collect only from this device (repeatable).")
        parser.add_argument("--allow-insecure", action="store_true",
                            help="Accept devices whose security_policy is None (no signing, no encryption).")
        parser.add_argument("--certificate", default=None, metavar="PATH",
                            help="The collector's certificate, for devices that do not name one.")
        parser.add_argument("--private-key", default=None, metavar="PATH",
                            help="The collector's private key (PEM), for devices that do not name one.")
        parser.add_argument("--once", action="store_true",
                            help="Exit once every device delivered a value for each node, or failed.")
        parser.add_argument("--max-batches", type=int, default=None, metavar="N",
                            help="Exit after N ingested batches.")
        parser.add_argument("--duration", type=float, default=None, metavar="S",
                            help="Exit after S seconds.")
        parser.add_argument("--batch-size", type=int, default=500, metavar="N",
                            help="Most readings per ingest call.")
        parser.add_argument("--flush-interval", type=float, default=0.5, metavar="S",
                            help="Longest a reading waits before it is ingested.")
        parser.add_argument("--timeout", type=float, default=10.0, metavar="S",
                            help="Connect and request timeout.")
        parser.add_argument("--refresh", type=float, default=60.0, metavar="S",
                            help="Re-read the device registry every S seconds.")
        parser.add_argument("--backoff-base", type=float, default=2.0, metavar="S")
        parser.add_argument("--backoff-max", type=float, default=300.0, metavar="S")

    def handle(self, *args, **options):
        if options["max_batches"] is not None and options["max_batches"] < 1:
            raise CommandError("--max-batches must be at least 1")
        collector = OpcUaCollector(
            serials=options["device"], allow_insecure=options["allow_insecure"],
            certificate=options["certificate"], private_key=options["private_key"],
            batch_size=options["batch_size"], flush_interval_s=options["flush_interval"],
            backoff_base_s=options["backoff_base"], backoff_max_s=options["backoff_max"],
            timeout_s=options["timeout"], refresh_s=options["refresh"],
        )
        run_until_stopped(lambda stop: collector.run(
            stop=stop, once=options["once"], max_batches=options["max_batches"],
            duration_s=options["duration"],
        ))
        self.stdout.write(
            f"opcua: {collector.batches} batch(es); readings accepted={collector.accepted} "
            f"duplicate={collector.duplicate} rejected={collector.rejected}; "
            f"failures={collector.failures or 'none'}"
        )
