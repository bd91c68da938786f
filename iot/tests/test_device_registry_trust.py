"""Trust at the device registry (issue 8): reserved broker names, the serial race, who sees a
device's connection settings, scoped filter choices."""

import threading

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from iot.bridges.mqtt_auth import auth_files_write
from iot.models import Device
from iot.testing.registry import make_device

URL = "/api/v1/iot/devices"


@pytest.mark.django_db
@pytest.mark.parametrize("serial", [settings.MQTT_USERNAME, settings.MQTT_SIMULATOR_USERNAME,
                                    settings.MQTT_USERNAME.upper()])
def test_the_broker_accounts_of_the_platform_are_not_device_serials(as_user, world, serial):
    response = as_user(world.a.referent).post(f"{URL}/register", {"serial": serial, "kind": "meter",
                                                                   "plant": world.a.plant.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["details"] == {"serial": ["Reserved for the platform."]}
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_a_legacy_device_named_like_the_bridge_never_gets_a_password_line(world, tmp_path):
    device, _ = make_device("LEGIT-1", plant=world.a.plant)
    Device.objects.filter(pk=device.pk).update(serial=settings.MQTT_USERNAME)  # as if made before the rule

    files = auth_files_write(directory=tmp_path)

    users = [line.split(":", 1)[0] for line in files.password_file.read_text().splitlines()]
    assert users.count(settings.MQTT_USERNAME) == 1
    assert sorted(users) == sorted([settings.MQTT_USERNAME, settings.MQTT_SIMULATOR_USERNAME])


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_serial_answer_201_and_409_never_500(world):
    from iot.catalogue import metrics_ensure

    metrics_ensure()
    referent = world.a.referent
    rounds = 4
    for round_ in range(rounds):
        serial = f"RACE-{round_}"
        barrier = threading.Barrier(3)
        statuses = []

        def register(serial=serial, barrier=barrier, statuses=statuses):
            client = APIClient()
            client.force_authenticate(referent)
            barrier.wait()
            try:
                statuses.append(client.post(f"{URL}/register", {"serial": serial, "kind": "meter",
                                                                 "plant": world.a.plant.pk},
                                            format="json").status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=register) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(statuses) == [201, 409, 409], statuses
        assert Device.objects.filter(serial=serial).count() == 1


@pytest.mark.django_db
def test_connection_settings_and_last_error_are_shown_only_to_managers(as_user, world):
    device, _ = make_device("MB-1", kind="inverter", protocol="modbus", plant=world.a.plant,
                            connection_settings={"host": "10.0.0.7", "port": 502})
    Device.objects.filter(pk=device.pk).update(last_error="connect to 10.0.0.7:502 refused")

    for user, shown in [(world.a.vendor, True), (world.a.referent, True), (world.a.member, False),
                        (world.admin, True)]:
        client = as_user(user)
        one = client.get(f"{URL}/{device.pk}").json()
        listed = client.get(URL).json()["items"][0]
        for body in (one, listed):
            assert ("connection" in body) is shown and ("last_error" in body) is shown, user.email
            assert "10.0.0.7" not in str(body) or shown
    assert as_user(world.a.vendor).get(f"{URL}/{device.pk}").json()["connection"]["host"] == "10.0.0.7"


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["plant", "community"])
def test_filter_choices_do_not_reveal_other_tenants_objects(as_user, world, field):
    make_device("F-A", plant=world.a.plant)
    make_device("F-B", plant=world.b.plant)
    other = getattr(world.b, field).pk
    client = as_user(world.a.vendor)

    foreign = client.get(URL, {field: other})
    missing = client.get(URL, {field: 987654})

    assert foreign.status_code == missing.status_code == 400
    answer = foreign.json()["message"].replace(str(other), "X")
    assert answer == missing.json()["message"].replace("987654", "X")
    assert client.get(URL, {field: getattr(world.a, field).pk}).json()["total"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["plant", "metering_point", "community"])
def test_a_request_body_may_only_name_what_the_caller_can_see(as_user, world, field):
    from communities.models import MeteringPoint

    pod = MeteringPoint.objects.create(membership=world.b.membership, code="IT001E00000099")
    foreign = {"plant": world.b.plant.pk, "community": world.b.community.pk, "metering_point": pod.pk}[field]
    client = as_user(world.a.vendor)

    answers = [client.post(f"{URL}/register", {"serial": f"BODY-{i}", "kind": "meter", field: pk},
                           format="json") for i, pk in enumerate([foreign, 987654])]

    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json()["details"][field] == [m.replace("987654", str(foreign))
                                                   for m in answers[1].json()["details"][field]]
    assert not Device.objects.exists()
