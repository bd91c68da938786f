"""Load test mix (locust, seed 000): members reading their dashboard and series, referents
listing members and devices, devices posting readings.

Run by `python -m benchmarks load` (benchmarks/bench_load.py), which seeds a bench database,
starts the web tier and writes the tokens and device secrets to the JSON file named by
`BENCH_LOAD_DATA`. By hand: `locust -f benchmarks/locustfile.py --host http://127.0.0.1:8000`
with such a file.
"""

import itertools
import json
import os
import random
from datetime import UTC, datetime

from locust import FastHttpUser, constant, task

with open(os.environ["BENCH_LOAD_DATA"]) as _file:
    DATA = json.load(_file)
_members = itertools.cycle(DATA["members"])
_referents = itertools.cycle(DATA["referents"])
_devices = itertools.cycle(DATA["devices"])


class Member(FastHttpUser):
    """A member with the dashboard open: overview, today's hours, a device's series."""

    weight = 6
    wait_time = constant(0)

    def on_start(self):
        me = next(_members)
        self.headers = {"Authorization": f"Bearer {me['token']}"}
        self.devices = me["devices"]

    @task(4)
    def dashboard(self):
        self.client.get("/api/v1/dashboard", headers=self.headers, name="/api/v1/dashboard")

    @task(2)
    def series(self):
        device = random.choice(self.devices)
        self.client.get(f"/api/v1/iot/devices/{device}/timeseries?metric=power_w&resolution=auto",
                        headers=self.headers, name="/api/v1/iot/devices/[id]/timeseries")

    @task(1)
    def energy_today(self):
        self.client.get("/api/v1/energy/hourly", headers=self.headers, name="/api/v1/energy/hourly")


class Referent(FastHttpUser):
    """A community referent going through the member and device lists."""

    weight = 2
    wait_time = constant(0)

    def on_start(self):
        self.headers = {"Authorization": f"Bearer {next(_referents)['token']}"}

    @task(1)
    def members(self):
        self.client.get("/api/v1/members?size=50", headers=self.headers, name="/api/v1/members")

    @task(1)
    def devices(self):
        self.client.get("/api/v1/iot/devices?size=50", headers=self.headers, name="/api/v1/iot/devices")


class Device(FastHttpUser):
    """A meter posting its readings over HTTP (a batch of 2 metrics, now)."""

    weight = 2
    wait_time = constant(0)

    def on_start(self):
        me = next(_devices)
        self.headers = {"X-Device-Serial": me["serial"], "X-Device-Secret": me["secret"],
                        "Content-Type": "application/json"}

    @task
    def post_readings(self):
        now = datetime.now(UTC).isoformat()
        body = json.dumps([{"metric": "power_w", "ts": now, "value": random.uniform(0, 3000)},
                           {"metric": "voltage_v", "ts": now, "value": random.uniform(225, 235)}])
        self.client.post("/api/v1/iot/ingest", data=body, headers=self.headers, name="/api/v1/iot/ingest")
