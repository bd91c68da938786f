"""The back office of the registry: scoped lists, secret shown once, rotation, read-only logs."""

import pytest
from django.test import Client

from conftest import PASSWORD
from iot.ingest.service import ingest
from iot.models import DeadLetter, Device
from iot.testing.registry import make_device

pytestmark = pytest.mark.django_db


def staff(user) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


@pytest.fixture
def devices(world):
    return make_device("ADM-A", plant=world.a.plant)[0], make_device("ADM-B", plant=world.b.plant)[0]


def test_it_lists_only_devices_in_scope(world, devices):
    page = staff(world.a.vendor).get("/admin/iot/device/").content.decode()
    assert "ADM-A" in page and "ADM-B" not in page


def test_it_hides_other_communities(world, devices):
    client = staff(world.a.referent)
    assert client.get(f"/admin/iot/device/{devices[1].pk}/change/").status_code in (302, 404)
    ingest([{"device": "ADM-B", "metric": "nope", "ts": "2026-01-01T00:00:00Z", "value": 1}], source="http")
    assert "ADM-B" not in client.get("/admin/iot/deadletter/").content.decode()
    assert "ADM-B" in staff(world.admin).get("/admin/iot/deadletter/").content.decode()


def test_adding_a_device_shows_its_secret_once(world):
    client = staff(world.a.vendor)
    response = client.post("/admin/iot/device/add/", {
        "serial": "ADM-NEW", "name": "", "kind": "meter", "protocol": "mqtt", "plant": world.a.plant.pk,
        "connection": "{}", "poll_interval_s": 60, "expected_interval_s": 60, "is_active": "on",
    }, follow=True)

    device = Device.objects.get(serial="ADM-NEW")
    page = response.content.decode()
    assert "shown once" in page and device.community_id == world.a.community.pk
    secret = page.split("<code>")[1].split("</code>")[0]
    assert device.check_secret(secret)
    assert "shown once" not in client.get(f"/admin/iot/device/{device.pk}/change/").content.decode()


def test_it_refuses_a_device_outside_the_users_communities(world):
    response = staff(world.a.vendor).post("/admin/iot/device/add/", {
        "serial": "ADM-OUT", "kind": "weather", "protocol": "mqtt", "community": world.b.community.pk,
        "connection": "{}", "poll_interval_s": 60, "expected_interval_s": 60,
    })
    assert response.status_code == 200 and not Device.objects.filter(serial="ADM-OUT").exists()


def test_the_rotate_action_issues_new_secrets(world, devices):
    old = Device.objects.get(pk=devices[0].pk).secret_hash
    response = staff(world.a.vendor).post("/admin/iot/device/", {
        "action": "rotate_secret", "_selected_action": [devices[0].pk, devices[1].pk]}, follow=True)
    assert "shown once" in response.content.decode()
    assert Device.objects.get(pk=devices[0].pk).secret_hash != old
    assert Device.objects.get(pk=devices[1].pk).secret_rotated_at == devices[1].secret_rotated_at


def test_dead_letters_are_read_only(world, devices):
    ingest([{"device": "ADM-A", "metric": "nope", "ts": "2026-01-01T00:00:00Z", "value": 1}], source="http")
    letter = DeadLetter.objects.get()
    client = staff(world.a.vendor)
    assert client.get(f"/admin/iot/deadletter/{letter.pk}/change/").status_code == 200
    client.post(f"/admin/iot/deadletter/{letter.pk}/change/", {"reason": "edited"})
    assert DeadLetter.objects.get().reason == letter.reason


def test_only_admins_delete_and_the_readings_go_with_the_device(world, devices):
    from django.utils import timezone

    from iot.testing.registry import stored_readings

    ingest([{"device": "ADM-A", "metric": "power_w", "ts": timezone.now(), "value": 1}], source="http")
    url = f"/admin/iot/device/{devices[0].pk}/delete/"
    staff(world.a.vendor).post(url, {"post": "yes"})
    assert Device.objects.filter(pk=devices[0].pk).exists() and len(stored_readings(devices[0])) == 1

    staff(world.admin).post(url, {"post": "yes"})
    assert not Device.objects.filter(pk=devices[0].pk).exists()
    assert stored_readings(devices[0]) == []
