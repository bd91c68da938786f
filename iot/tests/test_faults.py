"""Issue 13, faults: 100,000 QoS 1 readings over MQTT while the bridge, a Celery worker,
Mosquitto, Redis and PostgreSQL are killed and restarted in turn, each while readings flow.
Every reading is stored exactly once and the rollups equal those of the same readings sent,
with nothing failing, to a second set of devices.

The test runs its own PostgreSQL cluster (a clone of the test database) and its own Redis
(iot/testing/faults.py): the machine's shared services are never touched.

How each one fails: the bridge and the Celery worker (during a rollup run when the log shows
one) get SIGKILL; Redis first hangs (SIGSTOP) then gets SIGKILL; PostgreSQL gets an immediate
shutdown (its crash: backends killed, no checkpoint, recovery from the WAL on start).
Mosquitto gets SIGTERM, not SIGKILL: its persistence is a snapshot written every
`autosave_interval` (5 s in deploy/mosquitto), not a log, so a QoS 1 message it has
acknowledged to the publisher but not yet delivered lives only in its memory until the next
snapshot, and a SIGKILL loses it where no consumer can get it back (measured: README, IoT
ingestion). A clean restart writes the snapshot first and loses nothing: that is asserted.
"""

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from iot.testing.faults import CeleryWorker, PrivatePostgres, PrivateRedis, service_env
from iot.testing.mosquitto import Broker, free_port
from iot.testing.mqtt_fixtures import BridgeProcess, wait_until
from iot.testing.registry import make_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DEVICES = 20  # per set
MESSAGES = 10_000  # per set, 10 readings each: 5 minutes x (power_w, energy_import_kwh)
STEPS = 5
READINGS = MESSAGES * STEPS * 2
ROLLUP_COLUMNS = ("m.code, t.bucket, t.n, t.min_value, t.max_value, t.sum_value, t.first_value, "
                  "t.last_value, t.first_ts, t.last_ts, t.delta, t.resets, t.gaps")


def messages(base: datetime) -> list[tuple[int, bytes]]:
    """(device index, payload) of the stream. Values are integers or halves, so that every
    sum is exact in floating point whatever order PostgreSQL adds them in; the register
    wraps at 600 kWh (a counter reset) now and then."""
    out = []
    for m in range(MESSAGES):
        device, k = m % DEVICES, m // DEVICES
        readings = []
        for i in range(STEPS):
            step = k * STEPS + i
            ts = (base + timedelta(minutes=step)).isoformat()
            power_w = float((step * 37 + device * 11) % 5000 - 1000)
            readings.append({"metric": "power_w", "ts": ts, "value": power_w})
            readings.append({"metric": "energy_import_kwh", "ts": ts,
                             "value": ((step + device * 100) * 0.5) % 600})
        out.append((device, json.dumps(readings).encode()))
    return out


class Stream(threading.Thread):
    """Publishes QoS 1 messages as the simulator account (which may publish for every device)
    with a persistent session, so paho keeps and re-sends what the broker has not
    acknowledged across broker restarts. Publishes only up to `allowed` (raised by `release`)."""

    def __init__(self, port: int, client_id: str, items: list[tuple[str, bytes]], rate: float):
        super().__init__(daemon=True)
        self.items, self.rate = items, rate
        self.published = 0
        self.acked = 0
        self.allowed = 0
        self.gate = threading.Condition()
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False, protocol=mqtt.MQTTv311)
        self.client.username_pw_set(settings.MQTT_SIMULATOR_USERNAME, settings.MQTT_SIMULATOR_PASSWORD)
        self.client.max_inflight_messages_set(500)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self.acked += 1

    def release(self, upto: int) -> None:
        with self.gate:
            self.allowed = max(self.allowed, min(upto, len(self.items)))
            self.gate.notify_all()

    def run(self) -> None:
        due = time.monotonic()
        for index, (topic, body) in enumerate(self.items):
            with self.gate:
                if index >= self.allowed:
                    self.gate.wait_for(lambda index=index: index < self.allowed)
                    due = time.monotonic()  # paced from the release, not in a burst to catch up
            due += 1 / self.rate
            if (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            self.client.publish(topic, body, qos=1)
            self.published = index + 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class RollupBeat(threading.Thread):
    """Celery beat's role for the rollups: sends `rollup_run_task` to the worker's queue every
    `every_s` through the private Redis (a send while Redis is down just fails)."""

    def __init__(self, broker_url: str, queue: str, every_s: float = 1.0):
        super().__init__(daemon=True)
        self.app = Celery("faults-beat", broker=broker_url)
        self.app.conf.broker_connection_retry_on_startup = True
        self.queue, self.every_s = queue, every_s
        self.stopping = threading.Event()
        self.sent = self.failed = 0

    def run(self) -> None:
        while not self.stopping.wait(self.every_s):
            try:
                self.app.send_task("iot.rollups.tasks.rollup_run_task", queue=self.queue,
                                   retry_policy={"max_retries": 1, "interval_start": 0.2})
                self.sent += 1
            except Exception:  # Redis is down: the next tick sends again
                self.failed += 1


class Db:
    """Plain psycopg against the private cluster, one connection per question, so the
    test's own reads survive its crash."""

    def __init__(self, dsn: str):
        self.dsn = dsn

    def rows(self, sql: str, params=()) -> list[tuple]:
        for _ in range(150):
            try:
                with psycopg.connect(self.dsn, connect_timeout=3) as conn:
                    return conn.execute(sql, params).fetchall()
            except psycopg.OperationalError:
                time.sleep(0.2)
        raise RuntimeError("the private database did not answer")

    def value(self, sql: str, params=()):
        return self.rows(sql, params)[0][0]

    def stored(self, prefix: str) -> int:
        return self.value("SELECT count(*) FROM iot_reading r JOIN iot_device d ON d.id = r.device_id"
                          " WHERE d.serial LIKE %s", [f"{prefix}-%"])

    def rollups(self, level: str, prefix: str) -> list[tuple]:
        """Every rollup row of a set's devices, the device named by its index in the set."""
        return self.rows(
            f"SELECT substr(d.serial, 5), {ROLLUP_COLUMNS} FROM iot_rollup_{level} t"
            " JOIN iot_device d ON d.id = t.device_id JOIN iot_metric m ON m.id = t.metric_id"
            " WHERE d.serial LIKE %s ORDER BY 1, 2, 3", [f"{prefix}-%"])


@dataclass
class Stack:
    pg: PrivatePostgres
    redis: PrivateRedis
    broker: Broker
    db: Db
    queue: str
    env: dict = field(default_factory=dict)
    workers: list = field(default_factory=list)
    bridges: list = field(default_factory=list)
    beat: RollupBeat | None = None
    stream: Stream | None = None
    log: list = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)

    def note(self, what: str) -> None:
        self.log.append(f"{time.monotonic() - self.began:6.1f}s {what}")

    # The faults, each injected mid-stream and recovered from before the next one.
    def kill_bridge(self) -> None:
        self.bridges[-1].kill()
        self.bridges.append(BridgeProcess(self.broker.port, "fault-bridge", env=self.env))

    def kill_worker(self) -> None:
        busy = wait_until(self.workers[-1].busy, timeout=10, interval=0.005)  # mid-task when we can
        self.workers[-1].kill()
        self.note(f"  worker killed {'in' if busy else 'between'} a rollup run")
        self.workers.append(CeleryWorker(queue=self.queue, env=self.env))

    def restart_broker(self) -> None:
        self.broker.restart(signal.SIGTERM, down_s=1.0)  # not SIGKILL: see the module docstring

    def hang_then_kill_redis(self) -> None:
        """Redis carries live frames and Celery tasks, not readings: storing goes on while
        it hangs (SIGSTOP) and while it is down (SIGKILL), with messages sent meanwhile."""
        self.redis.freeze()
        stored = self.db.stored("FLT")
        self.stream.release(self.stream.published + 1000)
        assert wait_until(lambda: self.db.stored("FLT") > stored + 5000, timeout=30), "Redis hung: no storing"
        self.note(f"  Redis hung: {self.db.stored('FLT') - stored} readings stored meanwhile")
        self.redis.thaw()
        self.redis.kill()
        stored = self.db.stored("FLT")
        self.stream.release(self.stream.published + 1000)
        assert wait_until(lambda: self.db.stored("FLT") > stored, timeout=30), "storing stopped without Redis"
        self.note(f"  Redis killed: {self.db.stored('FLT') - stored} readings stored meanwhile")
        self.redis.start()

    def crash_postgres(self) -> None:
        self.pg.crash()
        time.sleep(2.0)
        self.pg.start()


@pytest.fixture
def stack(world, tmp_path):
    """Devices registered in the test database, then everything cloned into a private
    PostgreSQL; a private Redis, a project Mosquitto, a Celery worker and the bridge on them."""
    for prefix in ("FLT", "CLN"):
        for i in range(DEVICES):
            make_device(f"{prefix}-{i:02d}", kind="meter", plant=world.a.plant)
    with ExitStack() as cleanup:  # every step undone, even when another one fails
        pg = PrivatePostgres(port=free_port(25430, 25449))
        cleanup.callback(pg.destroy)
        redis = PrivateRedis(port=free_port(26380, 26399))
        cleanup.callback(redis.destroy)
        broker = Broker(port=free_port(18830, 18839), directory=tmp_path / "mosquitto")
        cleanup.callback(broker.stop)
        stack = Stack(pg=pg, redis=redis, broker=broker, db=Db(pg.dsn),
                      queue=f"{settings.CELERY_TASK_DEFAULT_QUEUE}-faults")
        cleanup.callback(_stop_all, stack)
        pg.start().clone_from(connection.settings_dict)
        redis.start()
        broker.start()
        stack.env = service_env(database_url=pg.url, redis_url=redis.url, queue=stack.queue)
        stack.workers.append(CeleryWorker(queue=stack.queue, env=stack.env))
        stack.bridges.append(BridgeProcess(broker.port, "fault-bridge", env=stack.env))
        stack.beat = RollupBeat(f"{redis.url}/1", stack.queue)
        stack.beat.start()
        yield stack


def _stop_all(stack: Stack) -> None:
    if stack.beat is not None:
        stack.beat.stopping.set()
    if stack.stream is not None:
        stack.stream.close()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda process: process.stop(), stack.bridges + stack.workers))


def test_readings_survive_killing_every_component_mid_stream(stack):
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    payloads = messages(base)
    db = stack.db
    faults = [stack.kill_bridge, stack.kill_worker, stack.restart_broker, stack.hang_then_kill_redis,
              stack.crash_postgres]
    chunk = MESSAGES // 8  # a chunk of the stream per fault, the rest after them
    topics = [(f"devices/FLT-{d:02d}/telemetry", body) for d, body in payloads]
    stream = stack.stream = Stream(stack.broker.port, "fault-publisher", topics, rate=700)
    stream.start()
    try:
        for fault in faults:
            start = stream.allowed
            stream.release(start + chunk)
            # mid-stream: the bridge is storing this chunk (so everything is up again) and
            # the publisher has most of it still to send
            assert wait_until(lambda start=start: db.stored("FLT") >= (start + chunk // 5) * STEPS * 2,
                              timeout=90, interval=0.05), f"the stream did not resume before {fault.__name__}"
            stack.note(f"{fault.__name__} at message {stream.published}, {db.stored('FLT')} readings stored")
            fault()
            stack.note(f"  recovered; {stream.published} published, {stream.acked} acknowledged (PUBACK)")
        stream.release(MESSAGES)
        stream.join(120)
        assert wait_until(lambda: stream.acked >= MESSAGES, timeout=120), (stream.published, stream.acked)
        assert wait_until(lambda: db.stored("FLT") >= READINGS, timeout=120, interval=0.5), (
            db.stored("FLT"), db.rows("SELECT topic, reason FROM iot_deadletter"), "\n".join(stack.log))
    finally:
        stream.close()
    stack.note("every reading of the faulty run stored")

    # The same payloads for the other set of devices, with nothing failing.
    clean = Stream(stack.broker.port, "clean-publisher",
                   [(f"devices/CLN-{d:02d}/telemetry", body) for d, body in payloads], rate=5000)
    clean.start()
    clean.release(MESSAGES)
    try:
        assert wait_until(lambda: db.stored("CLN") >= READINGS, timeout=120, interval=0.5), db.stored("CLN")
    finally:
        clean.close()
    backlog = "SELECT count(*) FROM iot_rollup_dirty"
    assert wait_until(lambda: db.value(backlog) == 0, timeout=60, interval=0.5), "rollups behind"
    stack.note("fault-free run stored, rollups caught up")
    print("\n".join(stack.log))

    time.sleep(1)  # a (wrong) late copy would have landed by now
    for prefix in ("FLT", "CLN"):
        total, distinct = db.rows(
            "SELECT count(*), count(DISTINCT (r.device_id, r.metric_id, r.ts)) FROM iot_reading r"
            " JOIN iot_device d ON d.id = r.device_id WHERE d.serial LIKE %s", [f"{prefix}-%"])[0]
        assert (total, distinct) == (READINGS, READINGS), prefix
    assert db.value("SELECT count(*) FROM iot_deadletter") == 0
    for level in ("15m", "1h", "1d", "1mo"):
        faulty, fault_free = db.rollups(level, "FLT"), db.rollups(level, "CLN")
        assert sum(row[3] for row in faulty) == READINGS, level
        assert faulty == fault_free, level
    assert stack.bridges[-1].alive() and stack.workers[-1].alive()
    # the faults were felt: the crash hit the bridge mid-batch, a rollup run failed on it
    assert "database error; batch" in "\n".join(stack.bridges[-1].lines)
    assert any("OperationalError" in line for worker in stack.workers for line in worker.lines)
