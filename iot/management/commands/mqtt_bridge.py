"""`manage.py mqtt_bridge`: MQTT telemetry and command acknowledgements -> the database."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from iot.bridges.mqtt_bridge import BridgeWorkerDied, MqttBridge


class Command(BaseCommand):
    help = ("Subscribe to devices/+/telemetry and devices/+/commands/ack (QoS 1, persistent session) "
            "and store readings through the ingest service, acknowledging after the commit.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MQTT_HOST)
        parser.add_argument("--port", type=int, default=settings.MQTT_PORT)
        parser.add_argument("--client-id", default=settings.MQTT_BRIDGE_CLIENT_ID,
                            help="Fixed id: the broker keeps the session (and queued messages) under it.")
        parser.add_argument("--batch-messages", type=int, default=settings.MQTT_BRIDGE_BATCH_MESSAGES)
        parser.add_argument("--batch-ms", type=int, default=settings.MQTT_BRIDGE_BATCH_MS)
        parser.add_argument("--workers", type=int, default=settings.MQTT_BRIDGE_WORKERS,
                            help="Threads storing batches (each with its own database connection).")
        parser.add_argument("--group", default=settings.MQTT_BRIDGE_SHARE_GROUP,
                            help="Share group: bridges of one group split the messages "
                                 "(MQTT shared subscriptions; each needs its own --client-id).")
        parser.add_argument("--max-seconds", type=float, default=None, help="Exit after this long.")

    def handle(self, *args, **options):
        bridge = MqttBridge(host=options["host"], port=options["port"], client_id=options["client_id"],
                            batch_messages=options["batch_messages"], batch_ms=options["batch_ms"],
                            workers=options["workers"], share_group=options["group"])
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: bridge.stop())
        group = f" in group {options['group']}" if options["group"] else ""
        self.stdout.write(f"mqtt bridge: {options['host']}:{options['port']} "
                          f"as {options['client_id']}{group}")
        self.stdout.flush()
        bridge.start()
        try:
            stats = bridge.run(max_seconds=options["max_seconds"])
        except BridgeWorkerDied as exc:
            # Exit non-zero (the supervisor restarts the bridge); unacknowledged messages are
            # redelivered to the next one.
            raise CommandError(str(exc), returncode=70) from exc
        finally:
            bridge.close()
        self.stdout.write(
            f"mqtt bridge stopped: {stats.messages} messages in {stats.batches} batches; readings "
            f"accepted={stats.accepted} duplicate={stats.duplicate} rejected={stats.rejected}; "
            f"dead letters={stats.dead_letters}; connects={stats.connects}"
        )
