"""Modbus poll loop throughput: devices polled per second, register read to committed row.

50 devices (`BENCH-POLL-*`, removed afterwards, with their readings) on one pymodbus
loopback server, each with a 10-register map (one request per device); `CYCLES` cycles of
the shared poll loop (`iot/bridges/base.py`), every device read concurrently and its
readings handed to `ingest()`. Figures: devices/s and readings/s over all cycles, p95 of a
cycle's duration.
"""

import statistics
import time

DEVICES = 50
CYCLES = 10
METRICS = ["power_w", "reactive_power_var", "voltage_v", "current_a", "frequency_hz", "soc_pct",
           "battery_temp_c", "dc_power_w", "pv_string_voltage_v", "inverter_temp_c"]


def run() -> dict:
    from asgiref.sync import async_to_sync

    from iot.bridges.base import PollLoop
    from iot.bridges.modbus import ModbusPoller
    from iot.catalogue import metrics_ensure
    from iot.devices.services import device_delete
    from iot.ingest.partitions import partitions_ensure
    from iot.models import Device
    from iot.testing.modbus import ModbusLoopbackServer

    metrics_ensure()
    partitions_ensure(months_ahead=1, months_back=1)
    registers = [230, 10, 231, 5, 50, 60, 25, 900, 400, 35]  # plausible for every metric above
    register_map = [{"metric": code, "address": i, "type": "int16"} for i, code in enumerate(METRICS)]
    with ModbusLoopbackServer(holding={0: registers}) as server:
        conn = {"host": "127.0.0.1", "port": server.port, "register_map": register_map}
        devices = [Device.objects.update_or_create(
            serial=f"BENCH-POLL-{i}", defaults={"kind": "inverter", "protocol": "modbus", "connection": conn},
        )[0] for i in range(DEVICES)]
        loop = PollLoop(ModbusPoller(), serials=[d.serial for d in devices])
        cycle_s = []
        try:
            async def cycles():
                for _ in range(CYCLES):
                    started = time.perf_counter()
                    await loop.cycle(devices)
                    cycle_s.append(time.perf_counter() - started)
                await loop.poller.close()

            async_to_sync(cycles)()
        finally:
            for device in devices:
                device_delete(device=device)
    total_s = sum(cycle_s)
    totals = loop.totals
    return {
        "devices": DEVICES,
        "cycles": CYCLES,
        "failed_polls": totals.failed,
        "readings_accepted": totals.accepted,
        "devices_per_s": round(DEVICES * CYCLES / total_s, 1),
        "readings_per_s": round(totals.accepted / total_s, 1),
        "cycle_p95_ms": round(statistics.quantiles(cycle_s, n=20)[-1] * 1000, 1),
    }
