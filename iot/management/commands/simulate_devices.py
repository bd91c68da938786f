"""`manage.py simulate_devices`: publish realistic telemetry for the demo devices over MQTT."""

import json
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from iot.bridges.mqtt_auth import ACK_TOPIC, TELEMETRY_TOPIC
from iot.bridges.mqtt_client import make_client
from iot.bridges.mqtt_simulator import STEP, Fleet, telemetry_message, ticks
from iot.models import Device


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError("--now must be ISO-8601, e.g. 2026-06-21T10:00:00Z") from None
    if ts.tzinfo is None:
        raise CommandError("--now needs a time zone (Z or an offset)")
    return ts.astimezone(UTC)


class Command(BaseCommand):
    help = ("Publish telemetry for the active MQTT devices (of --community) as the simulator account: "
            "PV following the sun and clouds, household load curves, battery state of charge.")

    def add_arguments(self, parser):
        parser.add_argument("--community", help="Slug of the community to simulate (default: all).")
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between live ticks.")
        parser.add_argument("--backfill-hours", type=float, default=0.0,
                            help="First publish this many past hours at 15-min steps, after what is stored.")
        parser.add_argument("--once", action="store_true", help="One tick (after any backfill), then exit.")
        parser.add_argument("--now", help="Simulated clock for --once / backfill, ISO-8601 (default: now).")
        parser.add_argument("--host", default=settings.MQTT_HOST)
        parser.add_argument("--port", type=int, default=settings.MQTT_PORT)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, **options):
        if options["interval"] <= 0 or options["backfill_hours"] < 0:
            raise CommandError("--interval must be positive and --backfill-hours not negative")
        self.once = options["once"]
        fixed_now = _parse_now(options["now"])
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        devices = self._devices(options["community"])
        # Live mode waits for devices (under `make run` an exit would stop every process).
        while not devices and not self.once and not stop.wait(30):
            devices = self._devices(options["community"])
        if not devices:
            raise CommandError("No active MQTT devices to simulate (run `manage.py seed_demo` first).")
        fleet = Fleet(devices, seed=options["seed"])
        self.pending = []
        client = self._connect(options, fleet)
        try:
            sent = self._backfill(client, fleet, fixed_now, options["backfill_hours"])
            while not stop.is_set():
                now = fixed_now or datetime.now(UTC).replace(microsecond=0)
                sent += self._publish(client, now, fleet.tick(now))
                if options["once"]:
                    break
                stop.wait(options["interval"])
            self._drain(client)
        finally:
            client.disconnect()
            client.loop_stop()
        self.stdout.write(f"simulator: {len(devices)} devices, {sent} messages published")

    def _devices(self, community: str | None) -> list[Device]:
        devices = list(Device.objects.filter(is_active=True, protocol="mqtt")
                       .select_related("plant", "metering_point", "community")
                       .prefetch_related("metering_point__plants", "plant__assets"))
        if community:
            devices = [d for d in devices if d.community and d.community.slug == community]
        if not devices and not self.once:
            self.stderr.write("simulator: no active MQTT devices yet (run `manage.py seed_demo`); waiting")
        return devices

    def _connect(self, options, fleet: Fleet):
        client = make_client(f"commonwatt-simulator-{options['seed']}",
                             username=settings.MQTT_SIMULATOR_USERNAME,
                             password=settings.MQTT_SIMULATOR_PASSWORD)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        connected = threading.Event()

        def on_connect(client, userdata, flags, reason_code, properties):
            if not reason_code.is_failure:
                client.subscribe("devices/+/commands", qos=1)
                connected.set()

        client.on_connect = on_connect
        client.on_message = lambda client, userdata, message: self._answer(client, fleet, message)
        client.connect_async(options["host"], options["port"], keepalive=settings.MQTT_KEEPALIVE_S)
        client.loop_start()
        # Live mode waits for the broker (under `make run` it may start after us); --once does not.
        while not connected.wait(30):
            if self.once:
                client.loop_stop()
                raise CommandError(f"Could not connect to the broker at {options['host']}:{options['port']}.")
            self.stderr.write(f"simulator: waiting for the broker at {options['host']}:{options['port']}")
        return client

    @staticmethod
    def _answer(client, fleet: Fleet, message) -> None:
        """Play the device: apply `set_power_limit` to an inverter and `set_schedule` to a
        battery, acknowledge every command."""
        serial = message.topic.split("/")[1]
        try:
            body = json.loads(message.payload)
            command_id = body["id"]
        except (ValueError, KeyError, TypeError):
            return
        result, status, error = {}, "ok", ""
        if body.get("command") == "set_power_limit":
            kw = (body.get("payload") or {}).get("kw")
            if isinstance(kw, int | float) and kw >= 0:
                fleet.caps_kw[serial] = float(kw)
                result = {"power_limit_kw": float(kw)}
        elif body.get("command") == "set_schedule":
            try:
                result = {"intervals": fleet.schedule_set(serial, body.get("payload") or {})}
            except (ValueError, KeyError, TypeError) as exc:
                status, error = "error", f"schedule refused: {exc}"[:200]
        ack = {"id": command_id, "status": status, "result": result, **({"error": error} if error else {})}
        client.publish(ACK_TOPIC.format(serial=serial), json.dumps(ack), qos=1)

    def _backfill(self, client, fleet: Fleet, fixed_now, hours: float) -> int:
        latest = fleet.restore()
        if hours <= 0:
            return 0
        now = fixed_now or datetime.now(UTC)
        start = now - timedelta(hours=hours)
        if latest is not None and latest + STEP > start:
            start = latest + STEP
        start = start.replace(second=0, microsecond=0, minute=start.minute - start.minute % 15)
        sent = 0
        for t in ticks(start, now - STEP, STEP):
            sent += self._publish(client, t, fleet.tick(t))
            if sent % 500 == 0:
                self._drain(client)
        return sent

    def _publish(self, client, t: datetime, values_by_serial: dict) -> int:
        for serial, values in values_by_serial.items():
            self.pending.append(client.publish(TELEMETRY_TOPIC.format(serial=serial),
                                               telemetry_message(t, values), qos=1))
        return len(values_by_serial)

    def _drain(self, client, timeout_s: float = 30.0) -> None:
        """Wait until the broker acknowledged what was published (QoS 1)."""
        ends = time.monotonic() + timeout_s
        for info in self.pending:
            remaining = ends - time.monotonic()
            if remaining <= 0:
                break
            try:
                info.wait_for_publish(remaining)
            except RuntimeError:  # disconnected meanwhile: paho resends after reconnecting
                continue
        self.pending = [info for info in self.pending if not info.is_published()]
