"""The portal: the centre (list, mark read, mark all read), the unread badge in the
navigation, the home card, the settings page, and the service worker at the site root."""

import re

import pytest
from django.test import Client

from notifications.models import Notification, Preference, UserSettings
from notifications.services import notify

pytestmark = pytest.mark.django_db


def _client(user, language="en"):
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(user)
    return c


def _badge(html: str) -> str:
    badge = r'data-testid="nav-notifications">[^<]*<span class="badge" data-unread-badge( hidden)?>(\d+)<'
    m = re.search(badge, html)
    assert m, "no badge"
    return m.group(2)


def test_the_centre_lists_my_notifications_and_marks_them_read(world):
    mine = notify(user=world.a.member, kind="wallet_movement", title="Top-up credited", body="EUR 20.00",
                  url="/wallet/")
    notify(user=world.a.member, kind="system", title="Welcome", body="")
    notify(user=world.a.other_member, kind="system", title="Someone else's secret", body="")
    client = _client(world.a.member)

    html = client.get("/notifications/").content.decode()
    assert "Top-up credited" in html and "Welcome" in html and "Someone else" not in html
    assert _badge(html) == "2"

    # "Open" marks it read and follows its link
    response = client.post(f"/notifications/{mine.pk}/read/", {"open": "1"})
    assert response.status_code == 302 and response["Location"] == "/wallet/"
    assert _badge(client.get("/notifications/").content.decode()) == "1"

    assert client.post("/notifications/read-all/").status_code == 302
    assert not Notification.objects.filter(user=world.a.member, read_at__isnull=True).exists()
    assert _badge(client.get("/").content.decode()) == "0"


def test_someone_elses_notification_is_404_and_stays_unread(world):
    theirs = notify(user=world.a.other_member, kind="system", title="x", body="")
    for user in (world.a.member, world.a.referent, world.admin):
        assert _client(user).post(f"/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_anonymous_is_sent_to_the_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_home_card_shows_the_latest_unread(world):
    notify(user=world.a.member, kind="system", title="Your statement is ready", body="")
    html = _client(world.a.member).get("/").content.decode()
    card = re.search(r'data-card="notifications">(.*?)</section>', html, re.S).group(1)
    assert "Your statement is ready" in card
    other = _client(world.a.other_member).get("/").content.decode()
    assert "Your statement is ready" not in other
    assert 'data-card="notifications"' not in other  # nothing unread: no card


def test_the_settings_page_saves_choices_and_quiet_hours(world):
    client = _client(world.a.member)
    assert client.get("/notifications/settings/").status_code == 200
    response = client.post("/notifications/settings/", {
        "device_offline:sms": "on", "wallet_movement:email": "on", "quiet_start": "22:00",
        "quiet_end": "07:00", "time_zone": "Europe/Rome", "phone_e164": "+393331234567"})
    assert response.status_code == 302
    prefs = {(p.kind, p.channel): p.enabled for p in Preference.objects.filter(user=world.a.member)}
    assert prefs[("device_offline", "sms")] is True and prefs[("device_offline", "email")] is False
    assert prefs[("wallet_movement", "email")] is True
    row = UserSettings.objects.get(user=world.a.member)
    assert (row.quiet_start.hour, row.quiet_end.hour, row.phone_e164) == (22, 7, "+393331234567")


def test_a_bad_phone_number_is_refused_and_changes_nothing(world):
    client = _client(world.a.member)
    response = client.post("/notifications/settings/", {"phone_e164": "333 123"}, follow=True)
    assert "E.164" in response.content.decode()
    assert not UserSettings.objects.exclude(phone_e164="").exists()
    assert not Preference.objects.exists()


def test_the_pages_are_in_italian(world):
    notify(user=world.a.member, kind="system", title="x", body="")
    client = _client(world.a.member, "it")
    centre = client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Notifiche" in centre and "Segna tutte come lette" in centre
    assert "Orari di silenzio" in client.get("/notifications/settings/").content.decode()


def test_the_service_worker_is_served_from_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert b'addEventListener("push"' in response.content


def test_the_outbox_is_in_the_back_office_for_admins_only(world):
    note = notify(user=world.a.member, kind="wallet_movement", title="Top-up credited", body="")
    admin = _client(world.admin)
    page = admin.get("/admin/notifications/delivery/")
    assert page.status_code == 200 and f">{note.pk}<" in page.content.decode()
    for user in (world.a.referent, world.a.vendor):  # staff of the back office, not of the outbox
        assert user.is_staff
        assert _client(user).get("/admin/notifications/delivery/").status_code == 403
