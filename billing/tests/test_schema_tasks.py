"""The OpenAPI schema of the billing endpoints; the beat tasks and the nightly alert."""

from decimal import Decimal

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from billing import ledger, services
from billing.models import Account, Payout
from billing.tasks import ledger_verify_task, payouts_sweep_task
from billing.tests.helpers import VALID_IBAN, fund
from config.beat import BEAT_TASKS

pytestmark = pytest.mark.django_db


def test_the_schema_documents_the_wallet_endpoints():
    doc = SchemaGenerator(patterns=[path("api/v1/", include("billing.api_urls"))]).get_schema(
        request=None, public=True
    )
    validate_schema(doc)
    for url in (
        "/api/v1/wallet",
        "/api/v1/wallet/transactions",
        "/api/v1/wallet/topup",
        "/api/v1/wallet/withdraw",
        "/api/v1/admin/metrics",
    ):
        assert url in doc["paths"], url
    params = {p["name"] for p in doc["paths"]["/api/v1/wallet/transactions"]["get"]["parameters"]}
    assert {"kind", "from", "to", "membership", "export"} <= params


def test_the_beat_tasks_are_listed():
    tasks = {entry["task"] for entry in BEAT_TASKS}
    assert {"billing.tasks.ledger_verify_task", "billing.tasks.payouts_sweep_task"} <= tasks


@override_settings(ADMINS=[("Ops", "ops@example.com")])
def test_the_nightly_verify_alerts_admins_on_a_difference(world):
    fund(world.a.member, "10")
    assert ledger_verify_task()["ok"] is True and not mail.outbox
    Account.objects.filter(user=world.a.member).update(balance=Decimal("9"))
    assert ledger_verify_task()["ok"] is False
    assert "billing_verify" in mail.outbox[0].subject


def test_the_sweep_sends_payouts_left_in_the_outbox(world):
    fund(world.a.member, "10")
    payout = services.wallet_withdraw(actor=world.a.member, amount=Decimal("4"), iban=VALID_IBAN)
    Payout.objects.filter(pk=payout.pk).update(created_at=payout.created_at.replace(year=2020))
    assert payouts_sweep_task() == {"sent": 1}
    payout.refresh_from_db()
    wallet = ledger.account_wallet(user=world.a.member)
    wallet.refresh_from_db()
    assert payout.status == "paid" and wallet.balance == Decimal("6.00") and wallet.held == 0
