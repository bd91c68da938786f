"""`notify`: stored in-app, one outbox row per chosen channel, never twice per dedup key."""

import pytest

from notifications.models import Channel, Delivery, Notification, NotificationKind
from notifications.services import notify

pytestmark = pytest.mark.django_db


def test_it_stores_the_notification_and_an_email_delivery_by_default(world):
    n = notify(user=world.a.member, kind=NotificationKind.WALLET_MOVEMENT, title="Top-up credited",
               body="EUR 20.00 added to your wallet.", url="/billing/wallet/")
    assert n.read_at is None and n.kind == "wallet_movement"
    assert list(Delivery.objects.filter(notification=n).values_list("channel", flat=True)) == [Channel.EMAIL]


def test_the_same_dedup_key_never_notifies_twice(world):
    first = notify(user=world.a.member, kind="system", title="Hello", body="", dedup_key="k1")
    again = notify(user=world.a.member, kind="system", title="Hello again", body="", dedup_key="k1")
    assert again.pk == first.pk
    assert Notification.objects.filter(user=world.a.member).count() == 1
    assert Delivery.objects.filter(notification__user=world.a.member).count() == 1
    # the key is per user: another user gets their own
    notify(user=world.a.other_member, kind="system", title="Hello", body="", dedup_key="k1")
    assert Notification.objects.filter(dedup_key="k1").count() == 2


def test_an_unknown_kind_is_refused(world):
    from core.exceptions import Invalid

    with pytest.raises(Invalid):
        notify(user=world.a.member, kind="nope", title="x", body="")
    assert not Notification.objects.exists()
