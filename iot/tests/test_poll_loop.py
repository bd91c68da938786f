"""The shared poll loop (iot/bridges/base.py), driven through `manage.py modbus_poll`."""

import logging
import socket
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from iot.bridges.base import backoff_delay
from iot.models import Device
from iot.testing.devices import polled_device, readings_of
from iot.testing.modbus import ModbusLoopbackServer

REGISTER_MAP = [{"metric": "power_w", "address": 0}]


class SilentServer:
    """Accepts TCP connections and never answers: a device that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.conns:
            conn.close()


def poll(*args):
    call_command("modbus_poll", *args, "--backoff-base", "0.2")


def test_it_polls_only_active_devices_of_its_protocol(world):
    with ModbusLoopbackServer(holding={0: [900]}) as server:
        conn = {"host": "127.0.0.1", "port": server.port, "register_map": REGISTER_MAP}
        active = polled_device(plant=world.a.plant, protocol="modbus", connection=conn)
        inactive = polled_device(plant=world.a.plant, protocol="modbus", connection=conn)
        Device.objects.filter(pk=inactive.pk).update(is_active=False)
        other_protocol = polled_device(plant=world.a.plant, protocol="dnp3", connection=conn)
        poll("--once")

    assert readings_of(active) == {"power_w": [900]}
    assert readings_of(inactive) == {}
    assert readings_of(other_protocol) == {}


def test_device_option_limits_the_poll(world):
    with ModbusLoopbackServer(holding={0: [5]}) as server:
        conn = {"host": "127.0.0.1", "port": server.port, "register_map": REGISTER_MAP}
        chosen = polled_device(plant=world.a.plant, protocol="modbus", connection=conn)
        other = polled_device(plant=world.a.plant, protocol="modbus", connection=conn)
        poll("--once", "--device", chosen.serial)

    assert readings_of(chosen) == {"power_w": [5]}
    assert readings_of(other) == {}


def test_a_device_is_polled_again_after_its_interval(world):
    with ModbusLoopbackServer(holding={0: [5]}) as server:
        device = polled_device(plant=world.a.plant, protocol="modbus", poll_interval_s=1,
                               connection={"host": "127.0.0.1", "port": server.port,
                                           "register_map": REGISTER_MAP})
        poll("--max-cycles", "3", "--device", device.serial)

    assert readings_of(device) == {"power_w": [5, 5, 5]}  # three polls, three timestamps


def test_a_device_that_hangs_times_out_and_the_loop_goes_on(world, caplog):
    silent = SilentServer()
    try:
        with ModbusLoopbackServer(holding={0: [11]}) as server:
            hung = polled_device(plant=world.a.plant, protocol="modbus",
                                 connection={"host": "127.0.0.1", "port": silent.port, "timeout_s": 30,
                                             "register_map": REGISTER_MAP})
            fine = polled_device(plant=world.a.plant, protocol="modbus",
                                 connection={"host": "127.0.0.1", "port": server.port,
                                             "register_map": REGISTER_MAP})
            started = timezone.now()
            with caplog.at_level(logging.ERROR, logger="iot.bridges"):
                poll("--once", "--timeout", "2", "--device", hung.serial, "--device", fine.serial)
            finished = timezone.now()
    finally:
        silent.close()

    assert readings_of(fine) == {"power_w": [11]}
    fine.refresh_from_db()
    # the answering device was written at once, not after the hung one timed out
    assert finished - started >= timedelta(seconds=2)
    assert fine.last_seen - started < timedelta(seconds=1.5)
    hung.refresh_from_db()
    assert hung.last_error == "timeout"
    assert any(hung.serial in r.getMessage() and "timeout" in r.getMessage() for r in caplog.records)


def test_backoff_doubles_and_is_capped():
    assert [backoff_delay(n, 2, 30) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_max_cycles_must_be_positive():
    with pytest.raises(CommandError):
        call_command("modbus_poll", "--max-cycles", "0")


def test_it_follows_connection_changes_and_departures_while_running(world):
    import asyncio

    from asgiref.sync import sync_to_async

    from iot.bridges.base import PollLoop
    from iot.bridges.command import run_until_stopped
    from iot.bridges.modbus import ModbusPoller

    with ModbusLoopbackServer(holding={0: [1]}) as first, ModbusLoopbackServer(holding={0: [2]}) as second:
        device = polled_device(plant=world.a.plant, protocol="modbus", poll_interval_s=1,
                               connection={"host": "127.0.0.1", "port": first.port,
                                           "register_map": REGISTER_MAP})
        poller = ModbusPoller()
        loop = PollLoop(poller, serials=[device.serial], idle_s=0.1)

        async def scenario(stop):
            run = asyncio.create_task(loop.run(stop=stop))
            await asyncio.sleep(0.5)
            moved = {**device.connection, "port": second.port}
            await sync_to_async(Device.objects.filter(pk=device.pk).update)(connection=moved)
            await asyncio.sleep(1.2)
            kept = dict(poller._clients)
            await sync_to_async(Device.objects.filter(pk=device.pk).update)(is_active=False)
            await asyncio.sleep(0.5)
            stop.set()
            await run
            return kept

        kept = run_until_stopped(scenario)

    assert readings_of(device)["power_w"] == [1, 2]  # the second poll went to the new port
    assert list(kept) == [device.pk]
    assert loop.states == {}  # the deactivated device was released
