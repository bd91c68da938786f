"""MQTT -> the one write path. Run by `manage.py mqtt_bridge`.

Subscribes (QoS 1, persistent session: fixed client id, clean_session False) to
`devices/+/telemetry` and `devices/+/commands/ack`, or, with a share group
(`MQTT_BRIDGE_SHARE_GROUP`), to `$share/<group>/...` of both: N bridges with distinct client
ids then form a consumer group and the broker gives each message to one of them.

paho's network thread only queues the messages; the main thread takes them in batches (up
to MQTT_BRIDGE_BATCH_MESSAGES messages or MQTT_BRIDGE_BATCH_MS milliseconds), stores the
batch with one `ingest` call, and only after that commit acknowledges every message of the
batch (`manual_ack_set(True)`, `ack(mid, qos)`): a message is never acknowledged before
its readings are stored, and a redelivered message is a duplicate that changes nothing, so
the effect is exactly once.

Any payload of any shape that cannot be applied (not JSON, over IOT_MAX_BODY_BYTES or
IOT_MAX_BATCH readings, nested deeper than IOT_PAYLOAD_MAX_DEPTH, no usable shape, readings
naming another device, an acknowledgement of no command of this device, or one that makes
the code fail in any way) is dead-lettered with its reason and acknowledged: it would never
get better by redelivery, and it never stops the bridge.

paho's network thread puts messages into a bounded inbox (MQTT_BRIDGE_INBOX_MAX): when the
writers fall behind it waits, so paho stops reading the socket and the broker keeps the
backlog (back-pressure, not memory growth). A writer thread that dies anyway (a bug) stops
the bridge: `run` raises BridgeWorkerDied and `manage.py mqtt_bridge` exits non-zero, so the
supervisor restarts it instead of leaving a process that holds its session and stores nothing.
When the database fails, the batch is kept unacknowledged and retried with capped
exponential backoff; the broker connection reconnects the same way (paho
`reconnect_delay_set`). Acks are only sent on the connection that delivered the message
(a message from an earlier connection is redelivered by the broker anyway).
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import psycopg
from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)

from core import metrics
from iot.bridges.mqtt_client import make_client
from iot.devices.commands import AckRefused, device_command_ack
from iot.ingest.payload import PayloadError, parse_json, readings_from_payload
from iot.ingest.service import dead_letters_record, ingest

logger = logging.getLogger("commonwatt.iot.mqtt_bridge")

SUBSCRIPTIONS = [("devices/+/telemetry", 1), ("devices/+/commands/ack", 1)]

# "The database is away": the batch is kept unacknowledged and retried. psycopg's own
# classes too, for work done on psycopg's cursor outside Django's error translation (a
# connection lost there once made the bridge dead-letter and acknowledge the message).
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def subscriptions(group: str = "") -> list[tuple[str, int]]:
    """The bridge's topic filters; with a group, MQTT shared subscriptions
    (`$share/<group>/...`): the broker hands each message to one bridge of the group, so N
    bridges (each with its own client id and persistent session) split the load."""
    return [(f"$share/{group}/{topic}" if group else topic, qos) for topic, qos in SUBSCRIPTIONS]


class BridgeWorkerDied(RuntimeError):
    """A writer thread of the bridge died: the process must exit so it is restarted."""


def _failure(exc: BaseException) -> str:
    return f"could not be processed: {type(exc).__name__}: {str(exc)[:300]}"


@dataclass
class Received:
    mid: int
    qos: int
    topic: str
    payload: bytes
    generation: int
    received_at: float


@dataclass
class BridgeStats:
    messages: int = 0
    batches: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    dead_letters: int = 0
    acks: int = 0
    db_failures: int = 0
    connects: int = 0
    last_commit_at: float = 0.0
    latencies_s: list = field(default_factory=list)


def split_topic(topic: str) -> tuple[str, str] | None:
    """("<serial>", "telemetry" | "ack") for the bridge's topics, else None."""
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == "devices" and parts[2] == "telemetry" and parts[1]:
        return parts[1], "telemetry"
    if len(parts) == 4 and parts[0] == "devices" and parts[2:] == ["commands", "ack"] and parts[1]:
        return parts[1], "ack"
    return None


class MqttBridge:
    def __init__(self, *, host: str | None = None, port: int | None = None,
                 client_id: str | None = None, batch_messages: int | None = None,
                 batch_ms: int | None = None, backoff_max_s: float = 30.0, workers: int | None = None,
                 on_batch: Callable[[list[Received]], None] | None = None, inbox_max: int | None = None,
                 share_group: str | None = None):
        self.host = host or settings.MQTT_HOST
        self.share_group = settings.MQTT_BRIDGE_SHARE_GROUP if share_group is None else share_group
        self.port = port or settings.MQTT_PORT
        self.batch_messages = batch_messages or settings.MQTT_BRIDGE_BATCH_MESSAGES
        self.batch_s = (batch_ms or settings.MQTT_BRIDGE_BATCH_MS) / 1000
        self.backoff_max_s = backoff_max_s
        self.workers = max(1, workers or settings.MQTT_BRIDGE_WORKERS)
        self._stats_lock = threading.Lock()
        self.on_batch = on_batch
        self.stats = BridgeStats()
        self.inbox: queue.Queue[Received] = queue.Queue(maxsize=inbox_max or settings.MQTT_BRIDGE_INBOX_MAX)
        self.stopping = threading.Event()
        self.fatal: BaseException | None = None
        self.generation = 0
        self.client = make_client(client_id or settings.MQTT_BRIDGE_CLIENT_ID, clean_session=False)
        self.client.manual_ack_set(True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=int(backoff_max_s))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # paho's network thread -------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            logger.error("broker refused the bridge: %s", reason_code)
            return
        self.generation += 1
        self.stats.connects += 1
        if self.share_group:
            # a session that subscribed before joining the group would get every message
            # twice (its own filter and the group's share): it leaves the plain filters
            client.unsubscribe([topic for topic, _ in SUBSCRIPTIONS])
        client.subscribe(subscriptions(self.share_group))
        logger.info("bridge connected to %s:%s (session present: %s%s)", self.host, self.port,
                    flags.session_present, f", group {self.share_group}" if self.share_group else "")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        # paho sends SUBSCRIBE on its next loop turn: only the broker's SUBACK says the
        # filters are in place (what arrives from now on is delivered or kept for us)
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            logger.error("broker refused the bridge's subscriptions: %s", refused)
            return
        logger.info("bridge subscribed to %d filters%s", len(reason_codes),
                    f" in group {self.share_group}" if self.share_group else "")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self.stopping.is_set():
            logger.warning("bridge disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        item = Received(message.mid, message.qos, message.topic, message.payload, self.generation,
                        time.monotonic())
        # A full inbox blocks paho's thread: it stops reading the socket until writers catch up.
        while not self.stopping.is_set():
            try:
                self.inbox.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    # main thread -----------------------------------------------------------------------
    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=settings.MQTT_KEEPALIVE_S)
        self.client.loop_start()

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def run(self, *, max_seconds: float | None = None) -> BridgeStats:
        """Process batches until `stop()` (or `max_seconds`); the caller started the client.

        With `workers` > 1, batches are stored by that many threads (each with its own
        database connection), so one batch's Python work overlaps another's database round
        trips; each worker acknowledges its own batch after its own commit."""
        ends = None if max_seconds is None else time.monotonic() + max_seconds
        ready: queue.Queue[list[Received] | None] = queue.Queue(maxsize=self.workers)
        threads = [threading.Thread(target=self._work, args=(ready,), name=f"bridge-writer-{i}", daemon=True)
                   for i in range(self.workers - 1)]
        for thread in threads:
            thread.start()
        while not self.stopping.is_set() and (ends is None or time.monotonic() < ends):
            if any(not thread.is_alive() for thread in threads):
                self._die(self.fatal or RuntimeError("a writer thread stopped"))
                break
            batch = self._collect()
            if not batch:
                continue
            if threads:
                self._hand_over(ready, batch, threads)
            else:
                self._process_until_stored(batch)
        for _ in threads:
            self._hand_over(ready, None, threads)
        for thread in threads:
            thread.join(60)
        if self.fatal is not None:
            raise BridgeWorkerDied(f"a bridge worker died: {self.fatal!r}") from self.fatal
        return self.stats

    def _hand_over(self, ready: "queue.Queue[list[Received] | None]", batch, threads) -> None:
        """Give a batch (or the stop mark) to a writer, unless the writers are dead: a
        blocking put would then hang the bridge forever."""
        while any(thread.is_alive() for thread in threads):
            try:
                ready.put(batch, timeout=0.5)
                return
            except queue.Full:
                if self.fatal is not None:
                    return

    def _die(self, exc: BaseException) -> None:
        if self.fatal is None:
            self.fatal = exc
        logger.critical("bridge worker died; stopping the bridge so it is restarted", exc_info=exc)
        self.stopping.set()

    def _work(self, ready: "queue.Queue[list[Received] | None]") -> None:
        try:
            while (batch := ready.get()) is not None:
                self._process_until_stored(batch)
        except BaseException as exc:
            self._die(exc)
        finally:
            connection.close()

    def _collect(self) -> list[Received]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_s
        while len(batch) < self.batch_messages:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=remaining) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _process_until_stored(self, batch: list[Received]) -> None:
        delay = 0.5
        while True:
            try:
                self.process(batch)
                break
            except TRANSIENT_DB_ERRORS:  # the database is away: wait and retry
                logger.exception("database error; batch of %d kept unacknowledged, retry in %.1fs",
                                 len(batch), delay)
            except Exception as exc:
                # Not transient: a message the database refuses, or one the code cannot
                # handle. Isolate it, so one poison message cannot hold the stream back.
                logger.exception("a batch of %d could not be stored; isolating", len(batch))
                if len(batch) > 1:
                    for msg in batch:
                        self._process_until_stored([msg])
                    return
                reason = ("refused by the database" if isinstance(exc, DatabaseError)
                          else _failure(exc))
                if self._poison(batch[0], reason):
                    return
                # the database went away while recording it: keep the message and retry it
            with self._stats_lock:
                self.stats.db_failures += 1
            connection.close()
            if self.stopping.wait(delay):
                return  # not acknowledged: the broker redelivers after a restart
            delay = min(delay * 2, self.backoff_max_s)
            close_old_connections()
        if self.on_batch is not None:
            self.on_batch(batch)

    def _poison(self, msg: Received, reason: str) -> bool:
        """Dead-letter a message that could not be stored, as it is, and acknowledge it.
        False (nothing recorded, nothing acknowledged) when the database is away: a message
        is never acknowledged unless its readings or its dead letter are committed."""
        where = split_topic(msg.topic)
        try:
            with transaction.atomic():
                dead_letters_record([{"topic": msg.topic, "serial": where[0] if where else "",
                                      "raw": msg.payload, "reason": reason}], source="mqtt")
            with self._stats_lock:
                self.stats.dead_letters += 1
        except TRANSIENT_DB_ERRORS:
            logger.exception("could not dead-letter a message on %s (database away); kept", msg.topic)
            return False
        except DatabaseError:
            logger.exception("could not dead-letter a message on %s: %r", msg.topic, msg.payload[:2000])
        self._ack([msg])
        return True

    def process(self, batch: list[Received]) -> None:
        """Store one batch in one transaction, then acknowledge it. Raises DatabaseError
        (nothing stored, nothing acknowledged: a retry cannot record anything twice)."""
        with transaction.atomic():
            result, letters = self._store(batch)
        with self._stats_lock:
            if result is not None:
                self.stats.accepted += result.accepted
                self.stats.duplicate += result.duplicate
                self.stats.rejected += result.rejected
            self.stats.dead_letters += len(letters)
        self._ack(batch)

    def _store(self, batch: list[Received]):
        items, senders, topics, letters = [], [], [], []
        for msg in batch:
            where = split_topic(msg.topic)
            if where is None:
                letters.append({"topic": msg.topic, "raw": msg.payload, "reason": "unexpected topic"})
                continue
            serial, kind = where
            try:
                if kind == "ack":
                    device_command_ack(serial=serial, payload=msg.payload)
                    continue
                readings = readings_from_payload(parse_json(msg.payload))
            except (PayloadError, AckRefused) as exc:
                letters.append({"topic": msg.topic, "serial": serial, "raw": msg.payload, "reason": str(exc)})
                continue
            except DatabaseError:
                raise  # transient or not, handled for the whole batch by the caller
            except Exception as exc:
                logger.exception("message on %s could not be processed", msg.topic)
                letters.append({"topic": msg.topic, "serial": serial, "raw": msg.payload,
                                "reason": _failure(exc)})
                continue
            items += readings
            senders += [serial] * len(readings)
            topics += [msg.topic] * len(readings)
        if letters:
            dead_letters_record(letters, source="mqtt")
        # The topic names the sender: a reading naming another device is refused by ingest.
        result = ingest(items, source="mqtt", senders=senders, context={"topics": topics}) if items else None
        return result, letters

    def _ack(self, batch: list[Received]) -> None:
        now = time.monotonic()
        acks = sum(1 for msg in batch if msg.qos and msg.generation == self.generation
                   and self.client.ack(msg.mid, msg.qos) == mqtt.MQTT_ERR_SUCCESS)
        with self._stats_lock:
            self.stats.batches += 1
            self.stats.messages += len(batch)
            self.stats.acks += acks
            self.stats.last_commit_at = now
            self.stats.latencies_s.extend(now - msg.received_at for msg in batch)
            metrics.bridge_acked(self.inbox.qsize(), [now - msg.received_at for msg in batch])
            if len(self.stats.latencies_s) > 100_000:
                del self.stats.latencies_s[:50_000]
