"""Demo devices for the demo community (idempotent, keyed on serial): a smart meter per POD,
an inverter per plant, a battery device where the plant has a battery asset, and one weather
station for the community, all speaking MQTT (`manage.py simulate_devices` publishes for them);
plus one device per polled protocol (Modbus TCP, OPC UA, DNP3, IEC 61850) on the first plant,
read by the pollers from the simulated field devices of `python -m iot.testing.demo`. `make run`
starts the simulator, the field devices and the pollers. The broker's password/ACL files are
regenerated at the end.
"""

from django.conf import settings

from communities.models import MeteringPoint
from iot.bridges.mqtt_auth import auth_files_write
from iot.catalogue import metrics_ensure
from iot.devices.services import device_create
from iot.models import Device

SIM_INTERVAL_S = 15


def _big_consumer(mp: MeteringPoint) -> float | None:
    """A POD hosting more than 20 kWp is a public or business building: a G0 profile sized to
    its plants (annual kWh), else None (a household)."""
    kwp = sum(float(p.capacity_kwp) for p in mp.plants.all())
    return 1100.0 * kwp * 0.9 if kwp > 20 else None


def _ensure(serial: str, created: list, protocol: str = "mqtt", **fields) -> Device:
    device = Device.objects.filter(serial=serial).first()
    if device is None:
        fields.setdefault("expected_interval_s", SIM_INTERVAL_S)
        device, secret = device_create(serial=serial, protocol=protocol, **fields)
        created.append((device, secret))
    return device


# The field devices `python -m iot.testing.demo` serves on loopback (make run starts it and
# the four pollers): kind and name per protocol.
FIELD_DEVICES = {
    "modbus": ("inverter", "SunSpec inverter (Modbus TCP)"),
    "opcua": ("meter", "Meter (OPC UA)"),
    "dnp3": ("battery", "Battery (DNP3)"),
    "iec61850": ("meter", "Meter (IEC 61850 MMS)"),
}


def field_devices_ensure(*, plant, created: list) -> list[Device]:
    """One polled device per industrial protocol on `plant`, pointing at the demo servers."""
    from iot.testing.demo import demo_connections

    connections = demo_connections()
    return [
        _ensure(f"FLD-{protocol.upper()}-P{plant.pk}", created, protocol=protocol, kind=kind, plant=plant,
                name=name, connection_settings=connections[protocol], poll_interval_s=10,
                expected_interval_s=30)
        for protocol, (kind, name) in FIELD_DEVICES.items()
    ]


def devices_ensure(*, community, plants) -> tuple[list[Device], list[tuple[Device, str]]]:
    """The demo devices of `community` (created when missing); returns (all, newly created
    with their secret)."""
    metrics_ensure()
    created: list[tuple[Device, str]] = []
    devices = []
    pods = (MeteringPoint.objects.filter(membership__community=community, membership__left_at__isnull=True)
            .prefetch_related("plants").order_by("code"))
    for i, mp in enumerate(pods):
        annual = _big_consumer(mp)
        connection = ({"profile": "G0", "annual_kwh": round(annual)} if annual
                      else {"profile": "H0", "annual_kwh": 2200 + (i * 397) % 2600})
        devices.append(_ensure(f"MTR-{mp.code}", created, kind="meter", metering_point=mp,
                               name=f"Smart meter {mp.code}", connection_settings=connection))
    for plant in plants:
        devices.append(_ensure(f"INV-P{plant.pk}", created, kind="inverter", plant=plant,
                               name=f"Inverter {plant.name}"))
        battery = plant.assets.filter(kind="battery").first()
        if battery is not None:
            devices.append(_ensure(f"BAT-P{plant.pk}", created, kind="battery", plant=plant,
                                   name=f"Battery {plant.name}",
                                   connection_settings={"asset": battery.pk}))
    devices.append(_ensure(f"WX-{community.slug}"[:64], created, kind="weather", community=community,
                           name=f"Weather station {community.name}"))
    return devices, created


def seed(ctx: dict, out) -> None:
    community, plants = ctx.get("community"), ctx.get("plants") or []
    if community is None:
        out.write("iot: no demo community, no devices")
        return
    devices, created = devices_ensure(community=community, plants=plants)
    if plants:
        devices += field_devices_ensure(plant=plants[0], created=created)
    files = auth_files_write(directory=settings.MQTT_AUTH_DIR,
                             pid_file=settings.MQTT_AUTH_DIR / "mosquitto.pid")
    ctx["devices"] = devices
    out.write(f"iot: {len(devices)} devices ({len(created)} new), broker accounts in {files.password_file}")
    if created:
        device, secret = created[0]
        out.write(f"  e.g. device {device.serial} secret (shown once): {secret}")
