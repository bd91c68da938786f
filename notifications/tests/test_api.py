"""/api/v1/notifications: your own notifications only; read, read-all, preferences, push
subscriptions; other users' ids are 404, bad input 400 with nothing changed."""

import pytest

from notifications.models import Channel, Delivery, Notification, Preference, PushSubscription, UserSettings
from notifications.services import notify

pytestmark = pytest.mark.django_db

SUB = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {"p256dh": "BKey", "auth": "secret"}}


@pytest.fixture
def notes(world):
    mine = [notify(user=world.a.member, kind="system", title=f"Note {i}", body="b") for i in range(3)]
    theirs = notify(user=world.a.other_member, kind="system", title="Not yours", body="secret")
    return mine, theirs


def test_it_lists_only_my_notifications_newest_first_with_the_unread_count(as_user, world, notes):
    mine, _ = notes
    answer = as_user(world.a.member).get("/api/v1/notifications").json()
    assert [n["id"] for n in answer["items"]] == [n.pk for n in reversed(mine)]
    assert answer["total"] == 3 and answer["unread"] == 3
    assert {"title", "body", "url", "kind", "data", "created_at", "read_at"} <= set(answer["items"][0])


def test_it_hides_other_users_notifications_even_from_the_admin_and_referent(as_user, world, notes):
    _, theirs = notes
    for user in (world.a.referent, world.admin, world.b.member):
        answer = as_user(user).get("/api/v1/notifications").json()
        assert theirs.pk not in [n["id"] for n in answer["items"]]
        response = as_user(user).post(f"/api/v1/notifications/{theirs.pk}/read")
        assert response.status_code == 404 and response.json()["error"] == "NotFound"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_marks_one_read_then_all_read(as_user, world, notes):
    mine, theirs = notes
    client = as_user(world.a.member)
    answer = client.post(f"/api/v1/notifications/{mine[0].pk}/read").json()
    assert answer["read_at"] is not None
    assert client.get("/api/v1/notifications?unread=1").json()["total"] == 2
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 2, "unread": 0}
    assert Notification.objects.filter(user=world.a.member, read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None  # read-all is mine only


def test_anonymous_gets_401(api):
    assert api.get("/api/v1/notifications").status_code == 401
    assert api.put("/api/v1/notifications/preferences", {}, format="json").status_code == 401


def test_preferences_have_defaults_and_are_saved(as_user, world):
    client = as_user(world.a.member)
    answer = client.get("/api/v1/notifications/preferences").json()
    wallet = answer["channels"]["wallet_movement"]
    assert wallet == {"in_app": True, "email": True, "push": False, "sms": False}
    assert answer["quiet_hours"] is None and answer["vapid_public_key"]

    answer = client.put("/api/v1/notifications/preferences", {
        "channels": {"wallet_movement": {"email": False, "sms": True}},
        "quiet_hours": {"start": "22:00", "end": "07:00"}, "time_zone": "Europe/Rome",
        "phone_e164": "+393331234567"}, format="json").json()
    wallet = answer["channels"]["wallet_movement"]
    assert wallet == {"in_app": True, "email": False, "push": False, "sms": True}
    assert answer["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert answer["phone_e164"] == "+393331234567"

    n = notify(user=world.a.member, kind="wallet_movement", title="Top-up", body="")
    assert list(Delivery.objects.filter(notification=n).values_list("channel", flat=True)) == [Channel.SMS]


@pytest.mark.parametrize("body, field", [
    ({"phone_e164": "3331234567"}, "phone_e164"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"channels": {"wallet_movement": {"in_app": False}}}, None),
    ({"channels": {"nope": {"email": True}}}, None),
    ({"channels": {"system": {"fax": True}}}, None),
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours"),
])
def test_bad_preferences_are_400_and_change_nothing(as_user, world, body, field):
    client = as_user(world.a.member)
    before = client.get("/api/v1/notifications/preferences").json()
    response = client.put("/api/v1/notifications/preferences", body, format="json")
    assert response.status_code == 400 and response.json()["error"] == "ValidationError"
    if field:
        assert field in str(response.json())
    assert client.get("/api/v1/notifications/preferences").json() == before
    assert not Preference.objects.exists()
    assert not UserSettings.objects.exclude(phone_e164="").exists()


def test_push_subscriptions_are_per_browser_and_only_mine_can_be_deleted(as_user, world):
    member, other = as_user(world.a.member), as_user(world.a.other_member)
    assert member.post("/api/v1/notifications/push-subscriptions", SUB, format="json").status_code == 201
    assert PushSubscription.objects.get().user == world.a.member
    # someone else cannot remove my browser
    assert other.delete("/api/v1/notifications/push-subscriptions", {"endpoint": SUB["endpoint"]},
                        format="json").status_code == 404
    assert PushSubscription.objects.count() == 1
    for endpoint in ("not a url", "https://169.254.169.254/latest/meta-data",
                     "http://fcm.googleapis.com/fcm/send/x", "https://fcm.googleapis.com.evil.example/x"):
        bad = member.post("/api/v1/notifications/push-subscriptions",
                          {"endpoint": endpoint, "keys": SUB["keys"]}, format="json")
        assert bad.status_code == 400 and "endpoint" in bad.json()["details"], endpoint
    assert PushSubscription.objects.count() == 1
    assert member.delete("/api/v1/notifications/push-subscriptions", {"endpoint": SUB["endpoint"]},
                         format="json").status_code == 204
    assert not PushSubscription.objects.exists()
