"""The device registry API: list, register, read, update, rotate secret; tenancy."""

import pytest

from iot.models import Device, hash_secret
from iot.testing.registry import make_device

pytestmark = pytest.mark.django_db

URL = "/api/v1/iot/devices"


@pytest.fixture
def devices(world):
    a, _ = make_device("INV-A", kind="inverter", plant=world.a.plant)
    b, _ = make_device("INV-B", kind="inverter", plant=world.b.plant)
    return a, b


def test_it_lists_devices_in_scope(as_user, world, devices):
    for user, expected in [(world.a.vendor, ["INV-A"]), (world.a.referent, ["INV-A"]),
                           (world.a.member, ["INV-A"]), (world.a.other_member, []),
                           (world.admin, ["INV-A", "INV-B"])]:
        body = as_user(user).get(URL).json()
        assert [d["serial"] for d in body["items"]] == expected, user.email
        assert body["total"] == len(expected)


def test_it_shows_status_and_topics(as_user, world, devices):
    body = as_user(world.a.member).get(f"{URL}/{devices[0].pk}").json()
    assert body["status"] == "offline" and body["community"] == world.a.community.pk
    assert body["topics"]["telemetry"] == "devices/INV-A/telemetry"
    assert "secret" not in body and "secret_hash" not in body


def test_it_hides_other_communities(as_user, world, devices):
    client = as_user(world.a.vendor)
    other = devices[1].pk
    assert client.get(f"{URL}/{other}").status_code == 404
    assert client.patch(f"{URL}/{other}", {"name": "x"}, format="json").status_code == 404
    assert client.post(f"{URL}/{other}/rotate-secret").status_code == 404
    assert client.post(f"{URL}/{other}/command", {"command": "reboot"}, format="json").status_code == 404
    assert client.get(f"{URL}/{other}/command").status_code == 404
    body = client.get(f"{URL}/{other}").json()
    assert body["error"] == "NotFound" and body["status_code"] == 404


def test_it_registers_a_device_and_shows_the_secret_once(as_user, world):
    client = as_user(world.a.referent)
    response = client.post(f"{URL}/register", {"serial": "MTR-NEW", "kind": "meter",
                                                "plant": world.a.plant.pk, "protocol": "http"}, format="json")

    assert response.status_code == 201
    body = response.json()
    device = Device.objects.get(serial="MTR-NEW")
    assert body["id"] == device.pk and body["community"] == world.a.community.pk
    assert len(body["secret"]) >= 40 and device.secret_hash == hash_secret(body["secret"])
    assert device.mqtt_password_hash.startswith("$7$101$")
    assert body["secret"] not in str(Device.objects.filter(pk=device.pk).values().get())
    assert "secret" not in client.get(f"{URL}/{device.pk}").json()


def test_it_creates_through_the_collection_too(as_user, world):
    response = as_user(world.a.vendor).post(URL, {"serial": "WX-1", "kind": "weather",
                                                  "community": world.a.community.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["community"] == world.a.community.pk and response.json()["plant"] is None
    # a community-wide device is visible to the community's members
    assert [d["serial"] for d in as_user(world.a.other_member).get(URL).json()["items"]] == ["WX-1"]
    assert as_user(world.b.member).get(URL).json()["items"] == []


@pytest.mark.parametrize(("payload", "field"), [
    ({"serial": "bad serial/+", "kind": "meter"}, "serial"),
    ({"serial": "OK-1", "kind": "toaster"}, "kind"),
    ({"serial": "OK-1", "kind": "meter", "expected_interval_s": 0}, "expected_interval_s"),
    ({"serial": "OK-1", "kind": "meter", "connection": [1, 2]}, "connection"),
])
def test_it_refuses_invalid_devices(as_user, world, payload, field):
    response = as_user(world.a.vendor).post(URL, {"plant": world.a.plant.pk, **payload}, format="json")
    assert response.status_code == 400
    assert field in response.json()["details"]
    assert not Device.objects.exists()


def test_it_refuses_a_duplicate_serial(as_user, world, devices):
    response = as_user(world.a.vendor).post(URL, {"serial": "INV-A", "kind": "meter",
                                                  "plant": world.a.plant.pk}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "Conflict"


def test_it_refuses_a_plant_of_another_community(as_user, world):
    response = as_user(world.a.vendor).post(URL, {"serial": "X-1", "kind": "meter",
                                                  "plant": world.b.plant.pk}, format="json")
    assert response.status_code == 400 and "plant" in response.json()["details"]
    assert not Device.objects.exists()


def test_members_cannot_register_or_change_devices(as_user, world, devices):
    client = as_user(world.a.member)
    response = client.post(URL, {"serial": "M-1", "kind": "meter", "plant": world.a.plant.pk}, format="json")
    assert response.status_code == 403
    assert client.patch(f"{URL}/{devices[0].pk}", {"name": "mine"}, format="json").status_code == 403
    assert client.post(f"{URL}/{devices[0].pk}/rotate-secret").status_code == 403
    devices[0].refresh_from_db()
    assert devices[0].name == "" and not Device.objects.filter(serial="M-1").exists()


def test_it_updates_a_device(as_user, world, devices):
    response = as_user(world.a.referent).patch(
        f"{URL}/{devices[0].pk}",
        {"name": "Roof inverter", "expected_interval_s": 300, "serial": "IGNORED",
         "connection": {"host": "10.0.0.5", "port": 502, "unit_id": 1}}, format="json")

    assert response.status_code == 200, response.json()
    device = Device.objects.get(pk=devices[0].pk)
    assert (device.name, device.expected_interval_s, device.serial) == ("Roof inverter", 300, "INV-A")
    assert device.connection["host"] == "10.0.0.5"


def test_it_rotates_the_secret(as_user, world, devices):
    old_hash = Device.objects.get(pk=devices[0].pk).secret_hash
    response = as_user(world.a.vendor).post(f"{URL}/{devices[0].pk}/rotate-secret")

    assert response.status_code == 200
    device = Device.objects.get(pk=devices[0].pk)
    assert device.secret_hash != old_hash and device.check_secret(response.json()["secret"])
    assert device.secret_rotated_at is not None


def test_it_requires_authentication(api, devices):
    response = api.get(URL)
    assert response.status_code == 401 and response.json()["error"] == "NotAuthenticated"


def test_the_registry_is_in_the_openapi_schema(as_user, world):
    response = as_user(world.admin).get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in ("/api/v1/iot/devices", "/api/v1/iot/devices/{id}", "/api/v1/iot/devices/register",
                 "/api/v1/iot/devices/{id}/rotate-secret", "/api/v1/iot/devices/{id}/command"):
        assert path in paths, path
    created = paths["/api/v1/iot/devices/register"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "secret" in schema["components"]["schemas"][ref]["properties"]
