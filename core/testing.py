"""The web tier started the documented way (scripts/web.sh: gunicorn + uvicorn workers) on a
free loopback port against a given database, DEBUG off: for tests and the load benchmark."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


# the secrets production requires (settings name them through `_mandatory`)
MANDATORY = re.findall(r'_mandatory\("([A-Z0-9_]+)"', (ROOT / "config" / "settings.py").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(db_name: str, port: int, **extra) -> dict:
    db = settings.DATABASES["default"]
    env = {
        **os.environ, "DEBUG": "0", "TESTING": "0", "SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "WARNING",
        "SECRET_KEY": settings.SECRET_KEY, "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "MQTT_PASSWORD": settings.MQTT_PASSWORD, "METRICS_TOKEN": settings.METRICS_TOKEN,
        "MQTT_SIMULATOR_PASSWORD": settings.MQTT_SIMULATOR_PASSWORD,
        "DATABASE_URL": f"postgis://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db_name}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port),
        "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", "commonwatt"),
        # the test's own channel prefix and queue as resolved (with the xdist worker's
        # suffix, which a TESTING=0 process would not add): frames and tasks meet
        "CHANNELS_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
    }
    for name in MANDATORY:  # every other secret production requires
        env.setdefault(name, str(getattr(settings, name, "")) or "x" * 40)
    env["EMAIL_URL"] = "consolemail://"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def _answers(port: int) -> bool:
    """A worker has booted (it accepts only once its app and URLs are loaded) and answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.settimeout(60)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return sock.recv(16).startswith(b"HTTP/1.1")
    except OSError:
        return False


@contextlib.contextmanager
def web_tier(db_name: str, *, workers: int = 2, **extra_env):
    """Yields (base URL, gunicorn master Popen) once every worker answers /health."""
    port = free_port()
    env = server_env(db_name, port, WEB_WORKERS=workers, **extra_env)
    proc = subprocess.Popen([str(ROOT / "scripts" / "web.sh")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("web tier exited: " + proc.stderr.read().decode()[-3000:])
            if len(worker_pids(proc.pid)) >= workers and _answers(port):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("web tier did not start within 60 s")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
