"""Portal pages: live dashboard and device page (scoped; history charts from the API)."""

import pytest
from django.utils import timezone

from iot.ingest.service import ingest
from iot.testing.registry import make_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter(world):
    device, _ = make_device("P-MTR-A", kind="meter", plant=world.a.plant)
    ingest([{"device": device.serial, "metric": "power_w", "ts": timezone.now(), "value": 640.0}],
           source="http")
    return device


def test_the_live_dashboard_renders_the_users_devices(client, world, meter):
    client.force_login(world.a.member)

    response = client.get("/iot/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-devices="{meter.pk}"' in html and "P-MTR-A" in html
    assert '<td data-metric="power_w">640.0</td>' in html
    assert "/static/js/iot_live.js" in html
    assert 'href="/iot/"' in html  # the portal navigation links to it


def test_the_device_page_has_live_values_and_a_history_chart(client, world, meter):
    client.force_login(world.a.referent)

    response = client.get(f"/iot/devices/{meter.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-url="/api/v1/iot/devices/{meter.pk}/timeseries"' in html
    assert "/static/vendor/chart.umd.min.js" in html and "/static/js/iot_charts.js" in html
    for resolution in ("raw", "15m", "1h", "1d", "1mo", "auto"):
        assert f'<option value="{resolution}"' in html


def test_it_hides_other_communities(client, world, meter):
    client.force_login(world.b.member)
    assert client.get(f"/iot/devices/{meter.pk}/").status_code == 404
    assert "P-MTR-A" not in client.get("/iot/").content.decode()

    client.force_login(world.a.other_member)
    assert client.get(f"/iot/devices/{meter.pk}/").status_code == 404


def test_anonymous_is_sent_to_login(client, meter):
    response = client.get("/iot/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_scripts_are_served_locally(client):
    expected = {"/static/js/iot_live.js": b"/ws/telemetry/?",
                "/static/js/iot_charts.js": b"new window.Chart("}
    for path, marker in expected.items():
        response = client.get(path)
        body = b"".join(response.streaming_content)
        assert response.status_code == 200 and marker in body, path
        assert b"https://" not in body  # no CDN


def test_a_referent_opens_the_community_view(client, world, meter):
    client.force_login(world.a.referent)

    response = client.get(f"/iot/?community={world.a.community.pk}")

    assert response.status_code == 200
    assert f'data-community="{world.a.community.pk}"' in response.content.decode()
    assert "P-MTR-A" in response.content.decode()


def test_staff_find_the_views_of_the_communities_they_manage(client, world, meter):
    client.force_login(world.a.referent)
    html = client.get("/iot/").content.decode()
    assert f'href="?community={world.a.community.pk}"' in html
    assert f'href="?community={world.b.community.pk}"' not in html
    client.force_login(world.a.member)  # a member manages nothing
    assert 'id="community-views"' not in client.get("/iot/").content.decode()


def test_the_community_view_hides_other_communities(client, world, meter):
    client.force_login(world.b.referent)
    assert client.get(f"/iot/?community={world.a.community.pk}").status_code == 404
    client.force_login(world.a.member)  # a member sees the community but does not manage it
    assert client.get(f"/iot/?community={world.a.community.pk}").status_code == 403
    assert client.get("/iot/?community=abc").status_code == 404
