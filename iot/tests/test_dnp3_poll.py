"""`manage.py dnp3_poll` against an opendnp3 outstation on loopback (yadnp3), through ingest()."""

import logging

import pytest
from django.core.management import call_command

from iot.bridges.base import DeviceConfigError
from iot.bridges.dnp3 import PointSpec, parse_points, to_readings
from iot.models import DeadLetter
from iot.testing.devices import polled_device, readings_of
from iot.testing.dnp3 import Dnp3LoopbackOutstation
from iot.testing.modbus import free_port

POINTS = [
    {"type": "analog", "index": 0, "metric": "power_w"},
    {"type": "analog", "index": 1, "metric": "voltage_v", "scale": 0.1},
    {"type": "counter", "index": 0, "metric": "energy_import_kwh", "scale": 0.001},
    {"type": "analog", "index": 2, "metric": "soc_pct"},
]


def poll(*args):
    call_command("dnp3_poll", *args, "--backoff-base", "0.2", "--timeout", "6")


def connection(outstation, **extra):
    return {"host": "127.0.0.1", "port": outstation.port, "outstation_address": outstation.address,
            "master_address": 1, "points": POINTS, **extra}


def test_it_reads_analogs_and_counters_with_an_integrity_poll(world):
    initial = {("analog", 0): -1520, ("analog", 1): 2301, ("counter", 0): 1_234_567, ("analog", 2): 64}
    with Dnp3LoopbackOutstation(initial) as outstation:
        device = polled_device(plant=world.a.plant, protocol="dnp3", kind="meter",
                               connection=connection(outstation))
        poll("--once", "--device", device.serial)

    assert readings_of(device) == {
        "power_w": [-1520.0],
        "voltage_v": [pytest.approx(230.1)],
        "energy_import_kwh": [pytest.approx(1234.567)],
        "soc_pct": [64.0],
    }


def test_each_cycle_reads_the_outstations_current_values(world):
    with Dnp3LoopbackOutstation({("analog", 0): 100, ("analog", 1): 2300}) as outstation:
        device = polled_device(plant=world.a.plant, protocol="dnp3", kind="meter",
                               connection=connection(outstation))
        poll("--once", "--device", device.serial)
        outstation.update("analog", 0, 250)
        poll("--once", "--device", device.serial)

    assert readings_of(device)["power_w"] == [100.0, 250.0]


def test_it_skips_an_offline_point_and_dead_letters_an_implausible_one(world, caplog):
    initial = {("analog", 0): 500, ("analog", 1): 2300, ("counter", 0): 10, ("analog", 2): 0}
    with Dnp3LoopbackOutstation(initial) as outstation:
        outstation.update("analog", 1, 2290, online=False)
        outstation.update("analog", 2, 180)  # 180 % state of charge
        device = polled_device(plant=world.a.plant, protocol="dnp3", kind="battery",
                               connection=connection(outstation))
        with caplog.at_level(logging.WARNING, logger="iot.bridges"):
            poll("--once", "--device", device.serial)

    stored = readings_of(device)
    assert set(stored) == {"power_w", "energy_import_kwh"}
    assert any("flagged not online" in r.getMessage() for r in caplog.records)
    letter = DeadLetter.objects.get(device=device)
    assert (letter.source, "soc_pct" in letter.raw) == ("dnp3", True)


def test_it_keeps_polling_when_an_outstation_does_not_answer(world, caplog):
    with Dnp3LoopbackOutstation({("analog", 0): 42}) as outstation:
        good = polled_device(plant=world.a.plant, protocol="dnp3", kind="meter",
                             connection=connection(outstation, points=POINTS[:1]))
        down = polled_device(plant=world.a.plant, protocol="dnp3", kind="meter",
                             connection={**connection(outstation, points=POINTS[:1]), "port": free_port()})
        with caplog.at_level(logging.ERROR, logger="iot.bridges"):
            poll("--max-cycles", "3", "--device", good.serial, "--device", down.serial, "--timeout", "3")

    assert readings_of(good)["power_w"][0] == 42.0
    assert readings_of(down) == {}
    down.refresh_from_db()
    assert down.status == "error"
    assert "not connected" in down.last_error
    assert any(down.serial in r.getMessage() and "retrying in" in r.getMessage() for r in caplog.records)


def test_point_maps_are_validated():
    with pytest.raises(DeviceConfigError, match="type must be one of"):
        parse_points([{"type": "analogue", "index": 0, "metric": "power_w"}])
    with pytest.raises(DeviceConfigError):
        parse_points([])


def test_the_last_value_of_a_point_wins_and_unmapped_points_are_ignored():
    from datetime import UTC, datetime

    class Device:
        serial = "X"

    now = datetime(2026, 5, 1, tzinfo=UTC)
    specs = {("analog", 0): PointSpec("analog", 0, "power_w", 2.0)}
    values = [("analog", 0, 1.0, 0x01, None), ("analog", 0, 3.0, 0x01, None), ("analog", 9, 5.0, 0x01, None)]
    assert to_readings(Device(), specs, values, now) == [{"metric": "power_w", "ts": now, "value": 6.0}]


def test_a_changed_outstation_address_gets_a_new_channel(world):
    import asyncio

    from asgiref.sync import sync_to_async

    from iot.bridges.base import PollLoop
    from iot.bridges.command import run_until_stopped
    from iot.bridges.dnp3 import Dnp3Poller
    from iot.models import Device

    with Dnp3LoopbackOutstation({("analog", 0): 1}) as first, \
            Dnp3LoopbackOutstation({("analog", 0): 2}, address=20) as second:
        device = polled_device(plant=world.a.plant, protocol="dnp3", kind="meter", poll_interval_s=1,
                               connection=connection(first, points=POINTS[:1]))
        loop = PollLoop(Dnp3Poller(), serials=[device.serial], idle_s=0.1)

        async def scenario(stop):
            run = asyncio.create_task(loop.run(stop=stop))
            # move once the first poll is stored (on a busy machine it can take seconds):
            # the next poll is due a second later and must already go to the new address
            for _ in range(200):
                if (await sync_to_async(readings_of)(device)).get("power_w"):
                    break
                await asyncio.sleep(0.05)
            moved = connection(second, points=POINTS[:1])
            await sync_to_async(Device.objects.filter(pk=device.pk).update)(connection=moved)
            for _ in range(100):  # until a poll after the move is stored
                await asyncio.sleep(0.1)
                if 2.0 in (await sync_to_async(readings_of)(device)).get("power_w", []):
                    break
            await asyncio.sleep(0.3)
            stop.set()
            await run

        run_until_stopped(scenario)

    values = readings_of(device)["power_w"]
    assert values[0] == 1.0 and values[1:] and set(values[1:]) == {2.0}  # every poll after the move
