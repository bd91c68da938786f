"""Operators' metrics (API and dashboard page), the back office, the demo wallets."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing import services
from billing.models import Account, Leg, Payout, Posting
from billing.tests.helpers import VALID_IBAN, fund
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_admins_get_platform_metrics(world, as_user):
    fund(world.a.member, "30")
    fund(world.b.member, "12")
    services.wallet_withdraw(actor=world.b.member, amount=Decimal("2"), iban=VALID_IBAN)
    body = as_user(world.admin).get("/api/v1/admin/metrics?period=7d").json()
    assert body["scope"] == "platform"
    assert body["wallets"]["balance_total"] == "42.00" and body["wallets"]["held_total"] == "2.00"
    assert body["wallets"]["pending_payouts"] == "2.00"
    assert body["payments"]["by_status"] == {"succeeded": 2}
    assert body["postings"]["in_period"] == 2 and body["communities"]["total"] == 2
    assert body["users"]["by_role"]["vendor"] == 2
    for key in ("devices", "readings", "simulation_runs", "members"):
        assert key in body


def test_vendors_get_their_organizations_only(world, as_user):
    fund(world.a.member, "30")
    fund(world.b.member, "12")
    body = as_user(world.a.vendor).get("/api/v1/admin/metrics").json()
    assert body["scope"] == "organization" and body["communities"]["total"] == 1
    assert body["wallets"]["balance_total"] == "30.00" and body["postings"]["in_period"] == 1
    assert body["payments"]["by_status"] == {"succeeded": 1}


def test_members_and_referents_are_refused(world, as_user, api):
    assert as_user(world.a.member).get("/api/v1/admin/metrics").status_code == 403
    assert as_user(world.a.referent).get("/api/v1/admin/metrics").status_code == 403
    assert api.get("/api/v1/admin/metrics").status_code == 401
    assert as_user(world.admin).get("/api/v1/admin/metrics?period=forever").status_code == 400


def test_the_metrics_dashboard_page(world, client):
    fund(world.a.member, "30")
    client.force_login(world.admin)
    page = client.get("/operators/metrics/?period=30d")
    assert page.status_code == 200 and b"30.00" in page.content
    client.force_login(world.a.member)
    assert client.get("/operators/metrics/").status_code == 404


def _admin_login(client, user):
    assert (
        client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD}).status_code
        == 302
    )


def test_the_back_office_is_read_only_and_admins_reverse(world, client):
    fund(world.a.member, "30")
    topup = Posting.objects.get(kind="topup")
    _admin_login(client, world.admin)
    assert client.get("/admin/billing/posting/").status_code == 200
    assert client.get(f"/admin/billing/posting/{topup.pk}/change/").status_code == 200
    assert client.get("/admin/billing/posting/add/").status_code == 403
    assert client.post(f"/admin/billing/posting/{topup.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/billing/account/add/").status_code == 403
    response = client.post(
        "/admin/billing/posting/", {"action": "reverse_postings", "_selected_action": [topup.pk]}
    )
    assert response.status_code == 302
    reversal = Posting.objects.get(kind="correction")
    assert reversal.corrects_id == topup.pk and reversal.actor == world.admin
    assert Account.objects.get(user=world.a.member).balance == 0
    assert client.get("/admin/billing/payment/").status_code == 200
    assert client.get("/admin/billing/payout/").status_code == 200


def test_vendors_see_their_scope_and_cannot_reverse(world, client):
    fund(world.a.member, "30")
    fund(world.b.member, "12")
    _admin_login(client, world.a.vendor)
    page = client.get("/admin/billing/account/")
    assert page.status_code == 200 and b"Member a" in page.content and b"Member b" not in page.content
    topup_b = Posting.objects.get(legs__account__user=world.b.member)
    assert client.get(f"/admin/billing/posting/{topup_b.pk}/change/").status_code == 302
    client.post(
        "/admin/billing/posting/",
        {
            "action": "reverse_postings",
            "_selected_action": list(Posting.objects.values_list("pk", flat=True)),
        },
    )
    assert not Posting.objects.filter(kind="correction").exists()


def test_the_demo_wallets_have_a_history_and_seeding_is_idempotent():
    call_command("seed_demo", stdout=io.StringIO())
    counts = (Posting.objects.count(), Leg.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (Posting.objects.count(), Leg.objects.count()) == counts
    assert set(Posting.objects.values_list("kind", flat=True)) == {"topup", "withdrawal", "p2p", "settlement"}
    assert Payout.objects.filter(status="paid").count() == 3
    out = io.StringIO()
    call_command("billing_verify", stdout=out)
    assert "Ledger OK" in out.getvalue()
