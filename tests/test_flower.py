"""Flower as `make run` starts it (scripts/flower.sh): loopback only, HTTP basic auth with
FLOWER_PASSWORD, its own assets (nothing from another host)."""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from core.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(180)


def _listening(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hexport = local.split(":")
        if state == "0A" and int(hexport, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_flower_is_on_loopback_behind_a_password_with_its_own_assets():
    port = free_port()
    env = {**os.environ, "FLOWER_PASSWORD": "Flower-Pass-42", "FLOWER_PORT": str(port)}
    proc = subprocess.Popen([str(ROOT / "scripts" / "flower.sh")], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 150
        while not _listening(port):
            assert proc.poll() is None, "flower exited"
            assert time.monotonic() < deadline, "flower did not listen"
            time.sleep(0.5)
        assert _listening(port) == {"127.0.0.1"}
        base = f"http://127.0.0.1:{port}"

        assert requests.get(base + "/", timeout=30).status_code == 401
        assert requests.get(base + "/", auth=("admin", "wrong"), timeout=30).status_code == 401
        page = requests.get(base + "/", auth=("admin", "Flower-Pass-42"), timeout=30)
        assert page.status_code == 200
        assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
        assert assets and all(a.startswith("/static/") for a in assets), assets
        for asset in assets:
            assert requests.get(base + asset, auth=("admin", "Flower-Pass-42"), timeout=30).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def test_flower_refuses_to_start_without_a_password():
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_PASSWORD"}
    result = subprocess.run([str(ROOT / "scripts" / "flower.sh")], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "FLOWER_PASSWORD must be set" in result.stderr
