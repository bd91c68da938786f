"""`manage.py opcua_collect` against an asyncua server on loopback, into PostgreSQL through ingest()."""

import logging

import pytest
from django.core.management import call_command

from iot.bridges.opcua import InsecureRefused, security_for
from iot.models import DeadLetter
from iot.testing.devices import polled_device, readings_of
from iot.testing.modbus import free_port
from iot.testing.opcua import OpcUaLoopbackServer, make_certificates


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("opcua-certs"))


def collect(*args):
    call_command("opcua_collect", *args, "--flush-interval", "0.2", "--backoff-base", "0.2", "--timeout", "5")


def secure_connection(server, certs, **extra):
    return {
        "endpoint": server.endpoint,
        "node_ids": {server.node_ids["Power"]: "power_w",
                     server.node_ids["Energy"]: {"metric": "energy_import_kwh", "scale": 0.001}},
        "security_policy": "Basic256Sha256", "security_mode": "SignAndEncrypt",
        "certificate": str(certs.client_cert), "private_key": str(certs.client_key),
        "server_certificate": str(certs.server_cert),
        "publishing_interval_ms": 100,
        **extra,
    }


def test_it_ingests_values_written_on_a_signed_and_encrypted_server(world, certs):
    with OpcUaLoopbackServer({"Power": 100.0, "Energy": 5_000.0}, secure=True, certs=certs) as server:
        device = polled_device(plant=world.a.plant, protocol="opcua", kind="meter",
                               connection=secure_connection(server, certs))
        server.write_later(1.5, "Power", 250.0)
        server.write_later(2.0, "Power", -75.5)
        server.write_later(2.0, "Energy", 5_250.0)
        collect("--device", device.serial, "--duration", "4")

    stored = readings_of(device)
    assert stored["power_w"] == [100.0, 250.0, -75.5]
    assert stored["energy_import_kwh"] == [pytest.approx(5.0), pytest.approx(5.25)]
    device.refresh_from_db()
    assert device.status == "online"


def test_it_refuses_security_policy_none_without_the_allow_flag(world, caplog):
    with OpcUaLoopbackServer({"Power": 42.0}) as server:
        device = polled_device(plant=world.a.plant, protocol="opcua", kind="meter", connection={
            "endpoint": server.endpoint, "node_ids": {server.node_ids["Power"]: "power_w"},
            "security_policy": "None", "publishing_interval_ms": 100,
        })
        with caplog.at_level(logging.ERROR, logger="iot.bridges"):
            collect("--device", device.serial, "--once")

    assert readings_of(device) == {}
    device.refresh_from_db()
    assert device.status == "error"
    assert "security policy None refused" in device.last_error
    assert any("refused" in r.getMessage() for r in caplog.records)


def test_it_accepts_security_policy_none_with_the_allow_flag(world):
    with OpcUaLoopbackServer({"Power": 42.0}) as server:
        device = polled_device(plant=world.a.plant, protocol="opcua", kind="meter", connection={
            "endpoint": server.endpoint, "node_ids": {server.node_ids["Power"]: "power_w"},
            "security_policy": "None", "publishing_interval_ms": 100,
        })
        collect("--device", device.serial, "--once", "--allow-insecure")

    assert readings_of(device) == {"power_w": [42.0]}


def test_a_device_may_allow_none_in_its_own_connection_settings():
    conn = {"security_policy": "None"}
    with pytest.raises(InsecureRefused):
        security_for(conn)
    assert security_for({**conn, "allow_insecure": True}).insecure
    assert security_for(conn, allow_insecure=True).insecure
    with pytest.raises(InsecureRefused):
        security_for({**conn, "allow_insecure": "yes"})  # only a real true counts


def test_the_default_policy_is_encrypted_and_needs_a_certificate():
    with pytest.raises(Exception, match="needs the collector's certificate"):
        security_for({})
    security = security_for({"server_certificate": "s.der"}, certificate="c.der", private_key="k.pem")
    assert (security.policy, security.mode) == ("Basic256Sha256", "SignAndEncrypt")


def test_the_server_certificate_is_pinned_unless_trust_on_first_use_is_chosen():
    with pytest.raises(Exception, match="server_certificate missing"):
        security_for({}, certificate="c.der", private_key="k.pem")
    security = security_for({"trust_endpoint_certificate": True}, certificate="c.der", private_key="k.pem")
    assert security.server_certificate is None


def test_it_takes_the_endpoint_certificate_only_when_told_to(world, certs):
    with OpcUaLoopbackServer({"Power": 5.0, "Energy": 1.0}, secure=True, certs=certs) as server:
        conn = secure_connection(server, certs)
        del conn["server_certificate"]
        refused = polled_device(plant=world.a.plant, protocol="opcua", kind="meter", connection=conn)
        trusting = polled_device(plant=world.a.plant, protocol="opcua", kind="meter",
                                 connection={**conn, "trust_endpoint_certificate": True})
        collect("--device", refused.serial, "--device", trusting.serial, "--once")

    refused.refresh_from_db()
    assert readings_of(refused) == {} and "server_certificate missing" in refused.last_error
    assert readings_of(trusting)["power_w"] == [5.0]


def test_a_server_with_another_certificate_is_refused(world, certs, tmp_path):
    impostor = make_certificates(tmp_path / "impostor")
    with OpcUaLoopbackServer({"Power": 5.0, "Energy": 1.0}, secure=True, certs=impostor) as server:
        # the device pins the genuine server's certificate; this server presents another
        device = polled_device(plant=world.a.plant, protocol="opcua", kind="meter",
                               connection=secure_connection(server, certs))
        collect("--device", device.serial, "--once")

    device.refresh_from_db()
    assert readings_of(device) == {}
    assert device.status == "error" and device.last_error == "timeout"  # the impostor cannot decrypt


def test_it_dead_letters_an_implausible_value_and_keeps_collecting(world, certs):
    with OpcUaLoopbackServer({"Power": 100.0, "Energy": 1_000.0}, secure=True, certs=certs) as server:
        device = polled_device(plant=world.a.plant, protocol="opcua", kind="meter",
                               connection=secure_connection(server, certs))
        server.write_later(1.5, "Power", 9e9)  # outside the plausible range of power_w
        server.write_later(2.0, "Power", 300.0)
        collect("--device", device.serial, "--duration", "3.5")

    assert readings_of(device)["power_w"] == [100.0, 300.0]
    letter = DeadLetter.objects.get(device=device)
    assert letter.source == "opcua"
    assert "plausible range" in letter.reason


def test_it_keeps_collecting_when_one_server_is_down(world, certs, caplog):
    with OpcUaLoopbackServer({"Power": 10.0, "Energy": 1.0}, secure=True, certs=certs) as server:
        good = polled_device(plant=world.a.plant, protocol="opcua", kind="meter",
                             connection=secure_connection(server, certs))
        down = polled_device(plant=world.a.plant, protocol="opcua", kind="meter", connection={
            **secure_connection(server, certs), "endpoint": f"opc.tcp://127.0.0.1:{free_port()}/",
        })
        server.write_later(1.5, "Power", 20.0)
        with caplog.at_level(logging.ERROR, logger="iot.bridges"):
            collect("--device", good.serial, "--device", down.serial, "--duration", "3")

    assert readings_of(good)["power_w"] == [10.0, 20.0]
    assert readings_of(down) == {}
    down.refresh_from_db()
    assert down.status == "error"
    retries = [r.getMessage() for r in caplog.records if down.serial in r.getMessage()]
    assert len(retries) >= 2 and all("retrying in" in m for m in retries)


def test_it_follows_the_registry_while_running(world):
    """New devices are subscribed and deactivated ones dropped without a restart."""
    import asyncio

    from asgiref.sync import sync_to_async

    from iot.bridges.command import run_until_stopped
    from iot.bridges.opcua import OpcUaCollector
    from iot.models import Device

    with OpcUaLoopbackServer({"Power": 1.0}) as server:
        conn = {"endpoint": server.endpoint, "node_ids": {server.node_ids["Power"]: "power_w"},
                "security_policy": "None", "allow_insecure": True, "publishing_interval_ms": 100}
        first = polled_device(plant=world.a.plant, protocol="opcua", kind="meter", connection=conn)
        collector = OpcUaCollector(refresh_s=0.3, flush_interval_s=0.2, backoff_base_s=0.2)

        async def scenario(stop):
            run = asyncio.create_task(collector.run(stop=stop, duration_s=5))
            await asyncio.sleep(1.5)
            second = await sync_to_async(polled_device)(plant=world.a.plant, protocol="opcua", kind="meter",
                                                        connection=conn)
            await sync_to_async(Device.objects.filter(pk=first.pk).update)(is_active=False)
            await asyncio.sleep(1.5)
            await asyncio.to_thread(server.write, "Power", 2.0)
            await run
            return second

        second = run_until_stopped(scenario)

    assert readings_of(first) == {"power_w": [1.0]}
    assert readings_of(second) == {"power_w": [1.0, 2.0]}


def test_readings_survive_a_failed_write(world, monkeypatch):
    """The database refuses the first batch: its readings go with the next one."""
    from django.db import OperationalError

    import iot.bridges.opcua as opcua_bridge

    real = opcua_bridge.ingest_readings
    calls = []

    async def flaky(readings, **kwargs):
        calls.append(len(readings))
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return await real(readings, **kwargs)

    monkeypatch.setattr(opcua_bridge, "ingest_readings", flaky)
    with OpcUaLoopbackServer({"Power": 11.0}) as server:
        device = polled_device(plant=world.a.plant, protocol="opcua", kind="meter", connection={
            "endpoint": server.endpoint, "node_ids": {server.node_ids["Power"]: "power_w"},
            "security_policy": "None", "allow_insecure": True, "publishing_interval_ms": 100,
        })
        server.write_later(1.5, "Power", 12.0)
        collect("--device", device.serial, "--duration", "3")

    assert calls[0] == 1 and calls[1] >= 1
    assert readings_of(device) == {"power_w": [11.0, 12.0]}


def test_it_reconnects_after_a_server_restart(world):
    import asyncio

    from asgiref.sync import sync_to_async

    from iot.bridges.command import run_until_stopped
    from iot.bridges.opcua import OpcUaCollector

    first = OpcUaLoopbackServer({"Power": 1.0}).start()
    port, power = first.port, first.node_ids["Power"]
    device = polled_device(plant=world.a.plant, protocol="opcua", kind="meter", connection={
        "endpoint": first.endpoint, "node_ids": {power: "power_w"},
        "security_policy": "None", "allow_insecure": True, "publishing_interval_ms": 100,
    })
    collector = OpcUaCollector(flush_interval_s=0.2, backoff_base_s=0.3, backoff_max_s=1.0, watch_s=0.3,
                               timeout_s=2)
    servers = [first]

    async def scenario(stop):
        # generous bounds for a loaded machine: the scenario stops as soon as 2.0 is stored
        run = asyncio.create_task(collector.run(stop=stop, duration_s=40))
        await asyncio.sleep(2.5)
        await asyncio.to_thread(first.stop)
        await asyncio.sleep(1.0)  # down for a while: the collector fails and backs off
        second = await asyncio.to_thread(OpcUaLoopbackServer({"Power": 2.0}, port=port).start)
        servers.append(second)
        stored = sync_to_async(readings_of)  # on the test's own connection and transaction
        for _ in range(125):  # at most ~25 s for the reconnect
            if (await stored(device)).get("power_w", [])[-1:] == [2.0]:
                break
            await asyncio.sleep(0.2)
        stop.set()
        await run

    try:
        run_until_stopped(scenario)
    finally:
        for server in servers:
            server.stop()

    assert readings_of(device)["power_w"] == [1.0, 2.0]
    assert collector.failures == {}  # the new session reset the backoff
