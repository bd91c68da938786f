"""Wallet movements reach the member through `notify`: top-up credited, withdrawal paid /
not paid / returned, P2P purchase and sale; a replayed callback or retried call never
notifies twice; nothing reaches anyone else."""

from decimal import Decimal

import pytest

from billing import services
from billing.models import Payment, Payout
from billing.tests.helpers import VALID_IBAN, dev_event, fund
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def titles(user) -> list[str]:
    return list(Notification.objects.filter(user=user, kind="wallet_movement")
                .order_by("created_at", "id").values_list("title", flat=True))


def test_a_top_up_is_notified_once_even_when_the_callback_is_replayed(world, as_user):
    response = as_user(world.a.member).post("/api/v1/wallet/topup", {"amount": "25.50"}, format="json")
    assert response.status_code in (200, 201), response.content
    payment = Payment.objects.get(user=world.a.member)
    body, headers = dev_event(payment, event_id="devevt_replayed")
    services.callback_receive(body=body, headers=headers)
    services.callback_receive(body=body, headers=headers)  # replay
    body, headers = dev_event(payment)  # the same payment, another event id
    services.callback_receive(body=body, headers=headers)
    note, = Notification.objects.filter(user=world.a.member)
    assert note.title == "Top-up credited" and note.body == "25.50 EUR added to your wallet."
    assert note.url == "/wallet/" and note.data["movement"] == "topup"
    assert not Notification.objects.exclude(user=world.a.member).exists()


def test_withdrawals_paid_and_not_paid_are_notified(world, as_user):
    fund(world.a.member, "40")
    client = as_user(world.a.member)
    client.post("/api/v1/wallet/withdraw", {"amount": "15", "iban": VALID_IBAN}, format="json")
    services.payout_send(payout_id=Payout.objects.get().pk)
    # the dev provider refuses 15.13
    client.post("/api/v1/wallet/withdraw", {"amount": "15.13", "iban": VALID_IBAN}, format="json")
    services.payout_send(payout_id=Payout.objects.get(amount=Decimal("15.13")).pk)
    assert titles(world.a.member) == ["Top-up credited", "Withdrawal paid", "Withdrawal not paid"]


def test_a_returned_withdrawal_is_notified(world, as_user):
    fund(world.a.member, "40")
    client = as_user(world.a.member)
    client.post("/api/v1/wallet/withdraw", {"amount": "15", "iban": VALID_IBAN}, format="json")
    payout = services.payout_send(payout_id=Payout.objects.get().pk)
    services.payout_settle(payout_id=payout.pk, paid=False, reason="account closed")
    assert titles(world.a.member)[-1] == "Withdrawal returned"


def test_a_p2p_purchase_tells_buyer_and_seller_once(world):
    fund(world.a.member, "30")
    for _ in range(2):  # the retried call posts nothing new and tells nobody again
        services.wallet_transfer(buyer=world.a.member, seller=world.a.other_member,
                                 amount=Decimal("10.00"), idempotency_key="p2p-1")
    assert titles(world.a.member) == ["Top-up credited", "Energy purchase paid"]
    assert titles(world.a.other_member) == ["Energy sale credited"]
    sale = Notification.objects.get(user=world.a.other_member)
    assert sale.body == "9.90 EUR credited for a P2P energy sale."  # 10.00 minus the 1 % fee
