"""The wallet endpoints through HTTP: balance, entries, top-up, withdraw, idempotency."""

from decimal import Decimal

import pytest
from django.test import override_settings

from billing import ledger, services
from billing.models import Leg, Payment, Payout, Posting
from billing.tests.helpers import VALID_IBAN, dev_event, fund

pytestmark = pytest.mark.django_db

BAD_AMOUNTS = [
    -5,
    0,
    "0.00",
    "1.001",
    "abc",
    "NaN",
    "Infinity",
    "1e400",
    10**30,
    True,
    None,
    [],
    {"a": 1},
    "",
]


def _balance(user) -> Decimal:
    account = ledger.account_wallet(user=user)
    account.refresh_from_db()
    return account.balance


def test_it_shows_the_wallet(world, as_user):
    fund(world.a.member, "30")
    body = as_user(world.a.member).get("/api/v1/wallet").json()
    assert body["balance"] == "30.00" and body["available"] == "30.00" and body["currency"] == "EUR"
    assert body["last_entries"][0]["kind"] == "topup"


def test_topup_credits_only_when_the_provider_confirms(world, as_user):
    client = as_user(world.a.member)
    response = client.post("/api/v1/wallet/topup", {"amount": "25.50"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["redirect_url"].startswith("/wallet/dev-checkout/")
    assert _balance(world.a.member) == 0
    payment = Payment.objects.get(uuid=response.json()["payment"])
    body, headers = dev_event(payment)
    callback = client.post(
        "/api/v1/payment/callback",
        body,
        content_type="application/json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    )
    assert callback.status_code == 200, callback.content
    assert _balance(world.a.member) == Decimal("25.50")


def test_the_dev_checkout_page_confirms_through_the_signed_callback(world, client):
    client.force_login(world.a.member)
    client.post("/wallet/", {"action": "topup", "amount": "12"})
    payment = Payment.objects.get(user=world.a.member)
    url = f"/wallet/dev-checkout/{payment.uuid}/"
    assert client.get(url).status_code == 200
    client.force_login(world.a.other_member)
    assert client.get(url).status_code == 404  # someone else's payment
    client.force_login(world.a.member)
    client.post(url, {"decision": "confirm"})
    assert _balance(world.a.member) == Decimal("12.00")
    assert payment.events.get().outcome == "credited"
    page = client.get("/wallet/")
    assert b"12.00" in page.content


def test_a_declined_checkout_credits_nothing(world, client):
    client.force_login(world.a.member)
    client.post("/wallet/", {"action": "topup", "amount": "12"})
    payment = Payment.objects.get(user=world.a.member)
    client.post(f"/wallet/dev-checkout/{payment.uuid}/", {"decision": "decline"})
    payment.refresh_from_db()
    assert payment.status == "failed" and _balance(world.a.member) == 0


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_bad_amounts_get_a_clear_400_and_change_nothing(world, as_user, amount):
    fund(world.a.member, "10")
    client = as_user(world.a.member)
    for url, extra in (("/api/v1/wallet/topup", {}), ("/api/v1/wallet/withdraw", {"iban": VALID_IBAN})):
        response = client.post(url, {"amount": amount, **extra}, format="json")
        assert response.status_code == 400, (url, amount, response.content)
        assert "amount" in response.json()["details"]
    assert Payment.objects.count() == 1 and not Payout.objects.exists()
    assert _balance(world.a.member) == Decimal("10.00")


def test_it_checks_the_iban(world, as_user):
    fund(world.a.member, "10")
    response = as_user(world.a.member).post(
        "/api/v1/wallet/withdraw", {"amount": "5", "iban": "IT60X0542811101000000123457"}, format="json"
    )
    assert response.status_code == 400 and "iban" in response.json()["details"]
    assert not Payout.objects.exists()


def test_withdraw_holds_then_posts_on_success(world, as_user):
    fund(world.a.member, "40")
    response = as_user(world.a.member).post(
        "/api/v1/wallet/withdraw", {"amount": "15", "iban": VALID_IBAN}, format="json"
    )
    assert response.status_code == 201, response.content
    wallet = as_user(world.a.member).get("/api/v1/wallet").json()
    assert wallet["balance"] == "40.00" and wallet["available"] == "25.00"
    payout = Payout.objects.get()
    services.payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == "paid"
    wallet = as_user(world.a.member).get("/api/v1/wallet").json()
    assert wallet["balance"] == "25.00" and wallet["available"] == "25.00"


def test_a_failed_payout_releases_the_hold(world, as_user):
    fund(world.a.member, "40")
    as_user(world.a.member).post(
        "/api/v1/wallet/withdraw", {"amount": "15.13", "iban": VALID_IBAN}, format="json"
    )
    payout = services.payout_send(payout_id=Payout.objects.get().pk)
    assert payout.status == "failed"
    wallet = as_user(world.a.member).get("/api/v1/wallet").json()
    assert wallet["balance"] == "40.00" and wallet["available"] == "40.00"
    assert not Posting.objects.filter(kind="withdrawal").exists()


def test_withdrawing_more_than_available_is_refused(world, as_user):
    fund(world.a.member, "10")
    client = as_user(world.a.member)
    assert (
        client.post("/api/v1/wallet/withdraw", {"amount": "8", "iban": VALID_IBAN}, format="json").status_code
        == 201
    )
    response = client.post("/api/v1/wallet/withdraw", {"amount": "3", "iban": VALID_IBAN}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "InsufficientFunds"


@override_settings(BILLING_WITHDRAW_DAILY_LIMIT_EUR=Decimal("20"))
def test_the_daily_withdrawal_limit_applies(world, as_user):
    fund(world.a.member, "100")
    client = as_user(world.a.member)
    assert (
        client.post(
            "/api/v1/wallet/withdraw", {"amount": "15", "iban": VALID_IBAN}, format="json"
        ).status_code
        == 201
    )
    response = client.post("/api/v1/wallet/withdraw", {"amount": "6", "iban": VALID_IBAN}, format="json")
    assert response.status_code == 429


def test_a_retry_with_the_same_key_answers_the_first_answer(world, as_user):
    fund(world.a.member, "50")
    client = as_user(world.a.member)
    first = client.post(
        "/api/v1/wallet/withdraw",
        {"amount": "5", "iban": VALID_IBAN},
        format="json",
        HTTP_IDEMPOTENCY_KEY="w-1",
    )
    again = client.post(
        "/api/v1/wallet/withdraw",
        {"amount": "5", "iban": VALID_IBAN},
        format="json",
        HTTP_IDEMPOTENCY_KEY="w-1",
    )
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Payout.objects.count() == 1
    other = client.post(
        "/api/v1/wallet/withdraw",
        {"amount": "6", "iban": VALID_IBAN},
        format="json",
        HTTP_IDEMPOTENCY_KEY="w-1",
    )
    assert other.status_code == 422 and Payout.objects.count() == 1
    t1 = client.post("/api/v1/wallet/topup", {"amount": "5"}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    t2 = client.post("/api/v1/wallet/topup", {"amount": "5"}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    assert t1.json() == t2.json() and Payment.objects.count() == 2
    assert (
        client.post(
            "/api/v1/wallet/topup", {"amount": "7"}, format="json", HTTP_IDEMPOTENCY_KEY="t-1"
        ).status_code
        == 422
    )


def test_a_refused_request_replays_its_refusal(world, as_user):
    client = as_user(world.a.member)
    first = client.post(
        "/api/v1/wallet/withdraw",
        {"amount": "5", "iban": VALID_IBAN},
        format="json",
        HTTP_IDEMPOTENCY_KEY="poor",
    )
    fund(world.a.member, "50")
    again = client.post(
        "/api/v1/wallet/withdraw",
        {"amount": "5", "iban": VALID_IBAN},
        format="json",
        HTTP_IDEMPOTENCY_KEY="poor",
    )
    assert first.status_code == again.status_code == 409 and not Payout.objects.exists()


def test_entries_filter_by_kind_and_period_and_export_csv(world, as_user):
    fund(world.a.member, "20")
    services.wallet_transfer(
        buyer=world.a.member, seller=world.a.other_member, amount=Decimal("10"), idempotency_key="p2p-1"
    )
    client = as_user(world.a.member)
    items = client.get("/api/v1/wallet/transactions").json()
    assert items["total"] == 2
    assert [
        e["kind"] for e in client.get("/api/v1/wallet/transactions?kind=p2p_purchase").json()["items"]
    ] == ["p2p_purchase"]
    assert client.get("/api/v1/wallet/transactions?from=2000-01-01&to=2000-01-02").json()["total"] == 0
    assert client.get("/api/v1/wallet/transactions?from=yesterday").status_code == 400
    assert client.get("/api/v1/wallet/transactions?kind=bogus").status_code == 400
    csv = client.get("/api/v1/wallet/transactions?export=csv")
    assert csv["Content-Type"].startswith("text/csv") and b"p2p_purchase" in csv.content
    seller = as_user(world.a.other_member).get("/api/v1/wallet/transactions").json()["items"]
    assert [(e["kind"], e["amount"]) for e in seller] == [("p2p_sale", "9.90")]


def test_it_hides_other_members_and_communities(world, as_user):
    fund(world.a.other_member, "20")
    fund(world.b.member, "30")
    client = as_user(world.a.member)
    assert client.get("/api/v1/wallet").json()["balance"] == "0.00"
    assert client.get("/api/v1/wallet/transactions").json()["total"] == 0
    other_membership = world.a.other_member.memberships.get()
    for url in ("/api/v1/wallet", "/api/v1/wallet/transactions"):
        assert client.get(f"{url}?membership={other_membership.pk}").status_code == 404
        assert client.get(f"{url}?membership={world.b.membership.pk}").status_code == 404
        assert client.get(f"{url}?membership=abc").status_code == 404
        assert client.get(f"{url}?membership={world.a.membership.pk}").status_code == 200
    # the admin too sees only their own wallet here (operators use the back office)
    assert as_user(world.admin).get("/api/v1/wallet/transactions").json()["total"] == 0
    assert Leg.objects.filter(account__user=world.b.member).count() == 1


def test_anonymous_gets_401(api):
    assert api.get("/api/v1/wallet").status_code == 401
    assert api.post("/api/v1/wallet/topup", {"amount": "1"}, format="json").status_code == 401
