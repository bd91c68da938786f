"""Processes a fault-injection test can kill and restart without touching the machine's shared
services: a private PostgreSQL cluster, a private Redis and a Celery worker, next to the
project Mosquitto (`iot.testing.mosquitto.Broker`) and the bridge
(`iot.testing.mqtt_fixtures.BridgeProcess`).

    pg = PrivatePostgres(port=free_port(25430, 25449)).start()
    pg.clone_from(source_url)          # schema and rows of another database (pg_dump | psql)
    pg.crash(); pg.start()             # immediate shutdown (no checkpoint), crash recovery
    redis = PrivateRedis(port=free_port(26380, 26399)).start(); redis.kill(); redis.start()
    worker = CeleryWorker(queue="q", env=env); worker.kill(); worker = CeleryWorker(...)

Each helper starts its process in the foreground of the test and waits until it answers, so
a test can inject one fault after another in a known order.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings

from iot.testing.processes import LoggedProcess

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait(predicate, timeout: float, what: str) -> None:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s")


class PrivatePostgres:
    """A throw-away PostgreSQL 15 cluster on 127.0.0.1:`port` with trust authentication,
    owned by the `postgres` system user when the test runs as root (PostgreSQL refuses to run
    as root). fsync is off (a process crash keeps what the kernel holds, which is what
    `crash()` simulates), synchronous_commit stays on: with it off, a commit is reported
    before its WAL leaves shared memory and an immediate shutdown loses it, which would break
    the bridge's "acknowledge after commit" by configuration rather than by a bug."""

    def __init__(self, *, port: int, user: str = "commonwatt", database: str = "commonwatt"):
        self.port = port
        self.user = user
        self.database = database
        self.directory = Path(tempfile.mkdtemp(prefix="cw-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            self._as_owner = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.directory, "postgres", "postgres")
        self._initialised = False

    @property
    def url(self) -> str:
        """A django-environ DATABASE_URL (PostGIS backend) for the project's processes."""
        return f"postgis://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        """A libpq connection string for psycopg / psql."""
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={self.database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as_owner, *args], capture_output=True, text=True, check=check,
                              cwd=self.directory)

    def start(self) -> "PrivatePostgres":
        if not self._initialised:
            self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
            self._initialised = True
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=50 -c shared_buffers=64MB")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        created = self._run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", self.user, self.database, check=False)
        if created.returncode and "already exists" not in created.stderr:
            raise RuntimeError(f"createdb failed: {created.stderr}")
        return self

    def clone_from(self, source: dict) -> None:
        """Copy the schema and rows of the database `source` (a Django settings_dict, e.g. the
        migrated test database) into this cluster: faster than running every migration."""
        env = {**os.environ, "PGPASSWORD": source["PASSWORD"] or ""}
        dump = subprocess.Popen(
            [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges", "-h", source["HOST"] or "127.0.0.1",
             "-p", str(source["PORT"] or 5432), "-U", source["USER"], source["NAME"]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        restore = subprocess.run(
            [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", self.user, "-d", self.database],
            stdin=dump.stdout, capture_output=True, text=True)
        dump.stdout.close()
        dump_err = dump.stderr.read().decode()
        if dump.wait() != 0 or restore.returncode != 0:
            raise RuntimeError(f"clone failed: {dump_err[-2000:]} {restore.stderr[-2000:]}")

    def crash(self) -> None:
        """Immediate shutdown: every backend is killed, no checkpoint; the next start runs
        crash recovery from the WAL."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if self._initialised:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PrivateRedis:
    """redis-server on 127.0.0.1:`port` without persistence: a kill loses everything it held
    (queued Celery tasks included), as a Redis without AOF does."""

    def __init__(self, *, port: int):
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="cw-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory),
             "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: _listening(self.port), 20, "redis-server")
        return self

    def freeze(self) -> None:
        """SIGSTOP: Redis hangs (connections are accepted by the kernel, nothing answers)."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def service_env(*, database_url: str, redis_url: str, mqtt_port: int | None = None, queue: str = "") -> dict:
    """The environment of a project process (bridge, Celery worker) bound to a private
    database and Redis: every Redis-using setting (cache, Channels, Celery broker and
    results) points at `redis_url`, so nothing reaches the shared services."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": f"{redis_url}/0",
        "CHANNELS_REDIS_URL": f"{redis_url}/0",
        "CELERY_BROKER_URL": f"{redis_url}/1",
        "CELERY_RESULT_BACKEND": f"{redis_url}/1",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("TEST_DATABASE_NAME", None)
    if mqtt_port is not None:
        env["MQTT_PORT"] = str(mqtt_port)
    if queue:
        env["CELERY_QUEUE"] = queue
    return env


class CeleryWorker(LoggedProcess):
    """`celery -A config worker` (solo pool) consuming `queue` with `env` (see `service_env`);
    returns once the worker reports ready."""

    ready_marker = " ready."
    stop_timeout = 20.0
    name = "celery worker"

    def __init__(self, *, queue: str, env: dict, ready_timeout: float = 90):
        self.received = 0  # tasks taken from the queue
        self.finished = 0  # tasks that ended (succeeded or raised)
        super().__init__(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool", "solo",
             "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
             "-n", f"{queue}@%h"], cwd=settings.BASE_DIR, env=env, ready_timeout=ready_timeout)

    def on_line(self, line: str) -> None:
        if "] received" in line:
            self.received += 1
        elif "] succeeded in " in line or "] raised " in line:
            self.finished += 1

    def busy(self) -> bool:
        """A task is running now (as far as the worker's log has told)."""
        return self.received > self.finished
