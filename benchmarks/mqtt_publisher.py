"""A QoS 1 publisher run in its own process by bench_mqtt (so it does not share the GIL with
the subscriber / bridge under test). Prints one JSON line: publish times per sequence number.

    python benchmarks/mqtt_publisher.py PORT USER PASSWORD COUNT READINGS SERIALS RATE
(RATE 0 = as fast as the broker acknowledges.)
"""

import json
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt


def main(port, user, password, count, readings, serials, rate):
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                         client_id=f"bench-pub-{time.time_ns()}", protocol=mqtt.MQTTv311)
    client.username_pw_set(user, password)
    client.max_inflight_messages_set(200)
    done = threading.Event()
    acked = [0]

    def on_publish(client, userdata, mid, reason_code, properties):
        acked[0] += 1
        if acked[0] >= count:
            done.set()

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    serial_list = serials.split(",")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=4)  # 20k x 10 s fit before now
    sent_at = []
    started = time.time()
    for seq in range(count):
        if rate:
            delay = started + seq / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        ts0 = base + timedelta(seconds=seq * readings)
        payload = {"seq": seq, "readings": [
            {"metric": "power_w", "ts": (ts0 + timedelta(seconds=i)).isoformat(), "value": float(i)}
            for i in range(readings)]}
        sent_at.append(time.time())
        client.publish(f"devices/{serial_list[seq % len(serial_list)]}/telemetry", json.dumps(payload), qos=1)
    done.wait(300)
    finished = time.time()
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"sent_at": sent_at, "acked": acked[0], "finished": finished}))


if __name__ == "__main__":
    port, user, password, count, readings, serials, rate = sys.argv[1:8]
    main(int(port), user, password, int(count), int(readings), serials, float(rate))
