"""`make run`'s data: after `seed_demo` and an hour of meter and inverter readings, the demo
member's and the demo referent's homes are alive in both languages."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import User
from iot.ingest.service import ingest
from iot.models import Device
from iot.rollups.service import rollup_run

pytestmark = pytest.mark.django_db


def _feed_an_hour():
    now = timezone.now().replace(second=0, microsecond=0)
    items = []
    for device in Device.objects.filter(protocol="mqtt", kind__in=["meter", "inverter"]):
        for i in range(5):
            t = now - timedelta(minutes=15 * (4 - i))
            values = ({"energy_import_kwh": 10 + 0.3 * i, "energy_export_kwh": 20 + 0.2 * i}
                      if device.kind == "meter" else {"energy_produced_kwh": 5.0 + i})
            items += [{"device": device.serial, "metric": m, "ts": t, "value": v} for m, v in values.items()]
    assert ingest(items, source="http").rejected == 0
    rollup_run()


def test_the_demo_homes_are_alive_in_both_languages(settings, tmp_path):
    settings.MQTT_AUTH_DIR = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    _feed_an_hour()
    referent = User.objects.get(email="referent@energiacomune.it")
    member = User.objects.filter(role="user", memberships__isnull=False, plants__isnull=False).first()
    for user, marker in ((referent, 'id="members"'), (member, 'id="my-community"')):
        for language, word in (("en", "Shared energy"), ("it", "Energia condivisa")):
            client = Client(HTTP_ACCEPT_LANGUAGE=language)
            client.force_login(user)
            html = client.get("/").content.decode()
            assert marker in html and word in html
            assert 'data-kwh="community_shared_today" data-raw="0"' not in html  # real shared energy
