"""End-to-end MQTT -> committed rows vs a bare paho publisher -> subscriber, same broker, same run.

A project Mosquitto (our config template, auth from the registry) on a port in 18840-18849,
QoS 1, messages of 10 readings from a publisher in its own process. The bridge runs in this
process (`MqttBridge`, the code behind `manage.py mqtt_bridge`) against the configured
database, with devices `BENCH-MQTT-*` removed afterwards. Latency (publish -> commit) is
measured in a second, paced run below saturation (a saturated run measures the backlog).
Both throughputs are the best of ROUNDS alternating runs (the machine is shared).
"""

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from django.conf import settings

MESSAGES = 15_000
ROUNDS = 2
READINGS = 10
DEVICES = 10
PACED_MESSAGES = 3_000
PACED_RATE = 1_000  # messages/s for the latency run
PUBLISHER = Path(__file__).with_name("mqtt_publisher.py")


def _publish(port: int, count: int, serials: list[str], rate: float = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PUBLISHER), str(port), settings.MQTT_SIMULATOR_USERNAME,
         settings.MQTT_SIMULATOR_PASSWORD, str(count), str(READINGS), ",".join(serials), str(rate)],
        stdout=subprocess.PIPE, text=True,
    )


def _publisher_result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate(timeout=600)
    return json.loads(out.strip().splitlines()[-1])


def bare_pubsub(port: int, serials: list[str]) -> dict:
    """A paho subscriber (QoS 1, automatic acks) receiving what the publisher sends."""
    received = []
    done = threading.Event()
    subscribed = threading.Event()
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare-sub",
                         protocol=mqtt.MQTTv311)
    client.username_pw_set(settings.MQTT_USERNAME, settings.MQTT_PASSWORD)

    def on_message(client, userdata, message):
        orjson.loads(message.payload)  # the bridge parses every payload too: same work
        received.append(time.time())
        if len(received) >= MESSAGES:
            done.set()

    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe("devices/+/telemetry", qos=1)
    subscribed.wait(10)
    result = _publisher_result(_publish(port, MESSAGES, serials))
    done.wait(120)
    client.disconnect()
    client.loop_stop()
    elapsed = received[-1] - result["sent_at"][0]
    return {"messages": len(received), "messages_per_s": round(len(received) / elapsed)}


def bridged(port: int, serials: list[str], count: int, rate: float = 0) -> dict:
    from iot.bridges.mqtt_bridge import MqttBridge

    commits: dict[int, float] = {}

    def on_batch(batch):
        now = time.time()
        for msg in batch:
            commits[orjson.loads(msg.payload)["seq"]] = now

    bridge = MqttBridge(port=port, client_id=f"bench-bridge-{time.time_ns()}", on_batch=on_batch)
    bridge.start()
    worker = threading.Thread(target=bridge.run, kwargs={"max_seconds": 600}, daemon=True)
    worker.start()
    for _ in range(100):
        if bridge.stats.connects:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # subscribed
    result = _publisher_result(_publish(port, count, serials, rate))
    for _ in range(1200):
        if len(commits) >= count:
            break
        time.sleep(0.05)
    bridge.stop()
    worker.join(30)
    bridge.close()
    sent = result["sent_at"]
    latencies = sorted(commits[s] - sent[s] for s in commits)
    elapsed = max(commits.values()) - sent[0]
    return {
        "messages": len(commits),
        "readings_committed": bridge.stats.accepted,
        "messages_per_s": round(len(commits) / elapsed),
        "readings_per_s": round(bridge.stats.accepted / elapsed),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
        "batches": bridge.stats.batches,
    }


def bridged_processes(port: int, serials: list[str], count: int, processes: int) -> dict:
    """`processes` x `manage.py mqtt_bridge` in one share group (MQTT shared subscriptions),
    each its own process (no shared GIL): throughput from the first message sent to the last
    reading committed, read from the database (the bridges are other processes)."""
    import os

    from iot.models import Reading

    group = f"bench-{time.time_ns()}"
    env = {**os.environ, "MQTT_PORT": str(port), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"}
    bridges = [subprocess.Popen(
        [sys.executable, "manage.py", "mqtt_bridge", "--group", group, "--client-id", f"{group}-{i}"],
        cwd=Path(__file__).resolve().parent.parent, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True) for i in range(processes)]
    connected = [threading.Event() for _ in bridges]

    def drain(process, event):  # read every line: a full pipe would block the bridge
        for line in process.stdout:
            if "bridge subscribed" in line:
                event.set()

    for bridge, event in zip(bridges, connected, strict=True):
        threading.Thread(target=drain, args=(bridge, event), daemon=True).start()
    try:
        for event in connected:  # each is connected and subscribed before anything is sent
            event.wait(120)
        time.sleep(0.5)
        readings = Reading.objects.filter(device__serial__in=serials)
        result = _publisher_result(_publish(port, count, serials))
        target, deadline = count * READINGS, time.monotonic() + 600
        while (stored := readings.count()) < target and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.time() - result["sent_at"][0]
    finally:
        for bridge in bridges:
            bridge.terminate()
        for bridge in bridges:
            bridge.wait(30)
    return {"processes": processes, "readings_committed": stored,
            "messages_per_s": round(stored / READINGS / elapsed)}


def _fresh_devices(serials: list[str]) -> list:
    """The bench devices, without readings (each run writes the same timestamps)."""
    from iot.devices.services import device_create, device_delete
    from iot.models import Device

    for device in Device.objects.filter(serial__in=serials):
        device_delete(device=device)
    return [device_create(serial=serial, kind="meter")[0] for serial in serials]


def run() -> dict:
    settings.MQTT_AUTO_SYNC_AUTH = False  # bench devices never go into the dev broker's files
    from iot.catalogue import metrics_ensure
    from iot.devices.services import device_delete
    from iot.ingest.partitions import partitions_ensure
    from iot.models import Device
    from iot.testing.mosquitto import Broker, free_port

    metrics_ensure()
    partitions_ensure(months_ahead=1, months_back=1)
    serials = [f"BENCH-MQTT-{i}" for i in range(DEVICES)]
    bare_runs, e2e_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(port=free_port(18840, 18849), directory=Path(tmp)).start()
        try:
            # Alternate the two measurements: on a shared machine the load changes by the second.
            for _ in range(ROUNDS):
                bare_runs.append(bare_pubsub(broker.port, serials))
                _fresh_devices(serials)
                e2e_runs.append(bridged(broker.port, serials, MESSAGES))
            _fresh_devices(serials)
            paced = bridged(broker.port, serials, PACED_MESSAGES, rate=PACED_RATE)
            # Past one process: one bridge process, then two in a share group, same broker
            # and publisher, alternating with a bare pair again (the baseline of this part).
            group_runs = []
            for _ in range(ROUNDS):
                group_bare = bare_pubsub(broker.port, serials)
                runs = {}
                for processes in (1, 2):
                    _fresh_devices(serials)
                    runs[processes] = bridged_processes(broker.port, serials, MESSAGES, processes)
                group_runs.append((group_bare, runs))
        finally:
            broker.stop()
            for device in Device.objects.filter(serial__startswith="BENCH-MQTT-"):
                device_delete(device=device)
    best_group_bare = max(r[0]["messages_per_s"] for r in group_runs)
    best = {n: max(r[1][n]["messages_per_s"] for r in group_runs) for n in (1, 2)}
    bare = max(bare_runs, key=lambda r: r["messages_per_s"])
    e2e = max(e2e_runs, key=lambda r: r["messages_per_s"])
    return {
        "messages": MESSAGES,
        "rounds": ROUNDS,
        "bare_runs_messages_per_s": [r["messages_per_s"] for r in bare_runs],
        "e2e_runs_messages_per_s": [r["messages_per_s"] for r in e2e_runs],
        "readings_per_message": READINGS,
        "bare_pubsub_messages_per_s": bare["messages_per_s"],
        "e2e_messages_per_s": e2e["messages_per_s"],
        "e2e_readings_per_s": e2e["readings_per_s"],
        "e2e_readings_committed": e2e["readings_committed"],
        "ratio_e2e_to_bare": round(e2e["messages_per_s"] / bare["messages_per_s"], 2),
        "goal_ratio": 0.6,
        "saturated_latency_p95_ms": e2e["latency_p95_ms"],
        f"paced_{PACED_RATE}_msg_per_s_latency_p50_ms": paced["latency_p50_ms"],
        f"paced_{PACED_RATE}_msg_per_s_latency_p95_ms": paced["latency_p95_ms"],
        "goal_latency_p95_ms": 1000,
        "share_group": {
            "bare_pubsub_messages_per_s": best_group_bare,
            "one_bridge_process_messages_per_s": best[1],
            "two_bridge_processes_messages_per_s": best[2],
            "ratio_one_to_bare": round(best[1] / best_group_bare, 2),
            "ratio_two_to_bare": round(best[2] / best_group_bare, 2),
            "two_beat_one": best[2] > best[1],
            "runs": [{"bare": b["messages_per_s"], "one": r[1]["messages_per_s"],
                      "two": r[2]["messages_per_s"]} for b, r in group_runs],
        },
    }
