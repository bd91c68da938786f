"""`manage.py modbus_poll` against a pymodbus server on loopback, into PostgreSQL through ingest()."""

import logging
import struct

import pytest
from django.core.management import call_command

from iot.bridges.modbus import RegisterSpec, decode, parse_register_map, plan_blocks
from iot.models import DeadLetter, Device
from iot.testing.devices import polled_device, readings_of
from iot.testing.modbus import SUNSPEC_BASE, ModbusLoopbackServer, free_port, sunspec_inverter_image

# Raw register values as an inverter would hold them; the expected readings apply the _SF.
INVERTER = {
    "W": 5123, "W_SF": -1,             # 512.3 W
    "WH": 12_345_678, "WH_SF": 0,      # 12,345.678 kWh
    "PhVphA": 2301, "V_SF": -1,        # 230.1 V
    "A": 2215, "A_SF": -2,             # 22.15 A
    "Hz": 5002, "Hz_SF": -2,           # 50.02 Hz
    "DCV": 612, "DCV_SF": 0,           # 612 V
    # DCW and TmpCab are left "not implemented" (0x8000): they must not become readings
}


def poll(*args):
    call_command("modbus_poll", *args, "--backoff-base", "0.2", "--timeout", "5")


def floats_be(value: float) -> list[int]:
    return list(struct.unpack(">2H", struct.pack(">f", value)))


def test_it_ingests_a_sunspec_inverter_with_its_scale_factors(world):
    with ModbusLoopbackServer(holding={SUNSPEC_BASE: sunspec_inverter_image(INVERTER)}) as server:
        device = polled_device(plant=world.a.plant, protocol="modbus",
                               connection={"host": "127.0.0.1", "port": server.port, "unit_id": 1,
                                           "sunspec": True})
        poll("--once", "--device", device.serial)

    stored = readings_of(device)
    assert stored.keys() == {"power_w", "energy_produced_kwh", "voltage_v", "current_a", "frequency_hz",
                             "pv_string_voltage_v"}
    assert stored["power_w"] == [pytest.approx(512.3)]
    assert stored["energy_produced_kwh"] == [pytest.approx(12_345.678)]
    assert stored["voltage_v"] == [pytest.approx(230.1)]
    assert stored["current_a"] == [pytest.approx(22.15)]
    assert stored["frequency_hz"] == [pytest.approx(50.02)]
    assert stored["pv_string_voltage_v"] == [pytest.approx(612)]
    device.refresh_from_db()
    assert device.last_seen is not None


def test_it_reads_a_register_map_with_types_orders_and_scale_factors(world):
    little_words = list(reversed(floats_be(48.5)))
    holding = {
        100: [0xFFF6],                                 # int16 -10, scale 100 -> -1000 W
        101: [2305],                                   # uint16 with sf register 102 (-1) -> 230.5 V
        102: [0xFFFF],                                 # int16 -1
        110: [0x0001, 0x86A0],                         # uint32 100000 Wh -> 100 kWh
        120: [0x3039, 0x0000],                         # int32 little word order: 12345 -> 1234.5 kWh
        130: [((w & 0xFF) << 8) | (w >> 8) for w in little_words],  # float32 little word+byte order
    }
    register_map = [
        {"metric": "power_w", "address": 100, "type": "int16", "scale": 100},
        {"metric": "voltage_v", "address": 101, "type": "uint16", "scale_sf_address": 102},
        {"metric": "energy_import_kwh", "address": 110, "type": "uint32", "scale": 0.001},
        {"metric": "energy_export_kwh", "address": 120, "type": "int32", "word_order": "little",
         "scale": 0.1},
        {"metric": "soc_pct", "address": 130, "type": "float32", "word_order": "little",
         "byte_order": "little"},
        {"metric": "battery_temp_c", "address": 7, "type": "int16", "table": "input", "scale": 0.1},
    ]
    with ModbusLoopbackServer(holding=holding, input={7: [253]}) as server:
        device = polled_device(plant=world.a.plant, protocol="modbus", kind="battery",
                               connection={"host": "127.0.0.1", "port": server.port,
                                           "register_map": register_map})
        poll("--once", "--device", device.serial)

    stored = readings_of(device)
    assert stored == {
        "power_w": [pytest.approx(-1000)],
        "voltage_v": [pytest.approx(230.5)],
        "energy_import_kwh": [pytest.approx(100)],
        "energy_export_kwh": [pytest.approx(1234.5)],
        "soc_pct": [pytest.approx(48.5)],
        "battery_temp_c": [pytest.approx(25.3)],
    }


def test_it_dead_letters_an_implausible_value_and_keeps_the_rest(world):
    register_map = [
        {"metric": "power_w", "address": 0, "type": "int16"},
        {"metric": "soc_pct", "address": 1, "type": "uint16"},  # 250 % is not a state of charge
    ]
    with ModbusLoopbackServer(holding={0: [1500, 250]}) as server:
        device = polled_device(plant=world.a.plant, protocol="modbus", kind="battery",
                               connection={"host": "127.0.0.1", "port": server.port,
                                           "register_map": register_map})
        poll("--once", "--device", device.serial)

    assert readings_of(device) == {"power_w": [1500]}
    letter = DeadLetter.objects.get(device=device)
    assert letter.source == "modbus"
    assert "soc_pct" in letter.raw
    assert letter.reason


def test_it_keeps_polling_when_a_device_is_down_and_backs_off(world, caplog):
    with ModbusLoopbackServer(holding={0: [700]}) as server:
        good = polled_device(plant=world.a.plant, protocol="modbus",
                             connection={"host": "127.0.0.1", "port": server.port,
                                         "register_map": [{"metric": "power_w", "address": 0}]})
        down = polled_device(plant=world.a.plant, protocol="modbus",
                             connection={"host": "127.0.0.1", "port": free_port(),  # nobody listens
                                         "register_map": [{"metric": "power_w", "address": 0}]})
        with caplog.at_level(logging.ERROR, logger="iot.bridges"):
            poll("--max-cycles", "5", "--device", good.serial, "--device", down.serial)

    assert len(readings_of(good)["power_w"]) >= 2
    assert readings_of(down) == {}
    down.refresh_from_db()
    assert down.status == "error"
    assert "connect" in down.last_error
    failures = [r.getMessage() for r in caplog.records if down.serial in r.getMessage()]
    assert failures and all("retrying in" in m for m in failures)
    # capped exponential backoff: the second failure waits twice as long as the first
    delays = [float(m.rsplit("retrying in ", 1)[1].split()[0]) for m in failures]
    assert delays[:2] == [0.2, 0.4][: len(delays[:2])]


def test_it_recovers_when_the_device_comes_back(world):
    port = free_port()
    device = polled_device(plant=world.a.plant, protocol="modbus",
                           connection={"host": "127.0.0.1", "port": port,
                                       "register_map": [{"metric": "power_w", "address": 0}]})
    poll("--once", "--device", device.serial)
    device.refresh_from_db()
    assert device.status == "error"

    with ModbusLoopbackServer(holding={0: [321]}, port=port):
        poll("--once", "--device", device.serial)
    device.refresh_from_db()
    assert readings_of(device) == {"power_w": [321]}
    assert device.status == "online"


def test_it_reports_a_bad_register_map_without_crashing(world):
    device = polled_device(plant=world.a.plant, protocol="modbus",
                           connection={"host": "127.0.0.1", "port": free_port(),
                                       "register_map": [{"metric": "power_w", "address": 0, "type": "int8"}]})
    poll("--once", "--device", device.serial)
    device = Device.objects.get(pk=device.pk)
    assert "type must be one of" in device.last_error


def test_register_blocks_merge_neighbours_and_split_tables():
    specs = parse_register_map([
        {"metric": "a", "address": 10, "type": "int32"},
        {"metric": "b", "address": 14, "scale_sf_address": 16},
        {"metric": "c", "address": 500},
        {"metric": "d", "address": 10, "table": "input"},
    ])
    assert plan_blocks(specs) == [("holding", 10, 2), ("holding", 14, 1), ("holding", 16, 1),
                                  ("holding", 500, 1), ("input", 10, 1)]
    assert plan_blocks(specs, max_gap=2) == [("holding", 10, 7), ("holding", 500, 1), ("input", 10, 1)]


def test_a_not_implemented_scale_factor_gives_no_value():
    spec = RegisterSpec(metric="power_w", address=0, type="int16", scale_sf_address=1)
    assert decode(spec, {("holding", 0): 100, ("holding", 1): 0x8000}) is None
    assert decode(spec, {("holding", 0): 100, ("holding", 1): 0xFFFE}) == pytest.approx(1.0)



def test_registers_changed_on_the_device_arrive_on_the_next_poll(world):
    with ModbusLoopbackServer(holding={SUNSPEC_BASE: sunspec_inverter_image(INVERTER)}) as server:
        device = polled_device(plant=world.a.plant, protocol="modbus",
                               connection={"host": "127.0.0.1", "port": server.port, "sunspec": True})
        poll("--once", "--device", device.serial)
        image = sunspec_inverter_image({**INVERTER, "W": 6000})
        server.set_registers(SUNSPEC_BASE, image)
        poll("--once", "--device", device.serial)

    assert readings_of(device)["power_w"] == [pytest.approx(512.3), pytest.approx(600.0)]


def test_a_nan_register_becomes_a_dead_letter(world):
    register_map = [{"metric": "power_w", "address": 0, "type": "float32"},
                    {"metric": "voltage_v", "address": 2, "type": "float32"}]
    with ModbusLoopbackServer(holding={0: [0x7FC0, 0x0000, *floats_be(229.5)]}) as server:
        device = polled_device(plant=world.a.plant, protocol="modbus",
                               connection={"host": "127.0.0.1", "port": server.port,
                                           "register_map": register_map})
        poll("--once", "--device", device.serial)

    assert readings_of(device) == {"voltage_v": [229.5]}
    letter = DeadLetter.objects.get(device=device)
    assert (letter.source, "power_w" in letter.raw) == ("modbus", True)
