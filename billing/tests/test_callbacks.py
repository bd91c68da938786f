"""Payment callbacks and the Stripe / Razorpay adapters, with payloads signed in the tests
and a loopback HTTP server standing in for the providers' APIs (no network)."""

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from billing import ledger, services
from billing.models import Payment, Payout, Posting, ProviderEvent
from billing.providers import PROVIDERS
from billing.tests.helpers import VALID_IBAN, dev_event

pytestmark = pytest.mark.django_db

STRIPE = {
    "BILLING_PROVIDER": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_test",
}
RAZORPAY = {
    "BILLING_PROVIDER": "razorpay",
    "RAZORPAY_KEY_ID": "rzp_test_id",
    "RAZORPAY_KEY_SECRET": "rzp_secret",
    "RAZORPAY_WEBHOOK_SECRET": "rzp_whsec",
    "RAZORPAY_ACCOUNT_NUMBER": "2323230000000000",
}


class Recorded(BaseHTTPRequestHandler):
    """Answers recorded provider responses; keeps what it received."""

    responses: dict = {}
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append((self.path, dict(self.headers), body))
        status, payload = type(self).responses.get(self.path, (404, {"error": "unknown"}))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_api():
    Recorded.responses, Recorded.received = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Recorded
    server.shutdown()
    server.server_close()


def _post(client, body: bytes, headers: dict):
    return client.post(
        "/api/v1/payment/callback",
        body,
        content_type="application/json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    )


def _stripe_event(event_id, kind, obj) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}).encode()


def _balance(user):
    account = ledger.account_wallet(user=user)
    account.refresh_from_db()
    return account.balance


def test_stripe_topup_end_to_end(world, as_user, api, fake_api):
    base, server = fake_api
    server.responses["/v1/payment_intents"] = (200, {"id": "pi_123", "client_secret": "pi_123_secret_abc"})
    with override_settings(**STRIPE, STRIPE_API_BASE=base):
        response = as_user(world.a.member).post("/api/v1/wallet/topup", {"amount": "20.00"}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["client_secret"] == "pi_123_secret_abc"
        _, headers, sent = server.received[0]
        assert headers["Authorization"] == "Bearer sk_test_x"
        assert headers["Idempotency-Key"] == f"payment-{response.json()['payment']}"
        assert b"amount=2000" in sent and b"currency=eur" in sent
        body = _stripe_event(
            "evt_1",
            "payment_intent.succeeded",
            {"id": "pi_123", "amount": 2000, "amount_received": 2000, "currency": "eur"},
        )
        assert _post(api, body, PROVIDERS["stripe"].sign(body)).status_code == 200
    assert _balance(world.a.member) == Decimal("20.00")


@override_settings(**STRIPE)
def test_stripe_signatures_are_checked_on_the_raw_body(world, api):
    payment = Payment.objects.create(
        user=world.a.member, provider="stripe", amount=Decimal("5"), provider_ref="pi_9", status="pending"
    )
    body = _stripe_event(
        "evt_9", "payment_intent.succeeded", {"id": "pi_9", "amount": 500, "currency": "eur"}
    )
    good = PROVIDERS["stripe"].sign(body)
    # the same JSON re-serialised (spaces) no longer matches: the raw bytes are what count
    assert _post(api, body.replace(b'", "', b'","'), good).status_code == 400
    assert _post(api, body, {"Stripe-Signature": "t=1,v1=deadbeef"}).status_code == 400
    assert _post(api, body, {"Stripe-Signature": "garbage"}).status_code == 400
    old = PROVIDERS["stripe"].sign(body, timestamp=int(time.time()) - 301)
    assert _post(api, body, old).status_code == 400
    with override_settings(STRIPE_WEBHOOK_SECRET="whsec_other"):
        forged = PROVIDERS["stripe"].sign(body)
    assert _post(api, body, forged).status_code == 400
    assert _post(api, body, {}).status_code == 400
    assert not ProviderEvent.objects.exists() and _balance(world.a.member) == 0
    recent = PROVIDERS["stripe"].sign(body, timestamp=int(time.time()) - 299)
    assert _post(api, body, recent).status_code == 200
    payment.refresh_from_db()
    assert payment.status == "succeeded"


@override_settings(**STRIPE)
def test_replays_and_out_of_order_events_change_nothing(world, api):
    Payment.objects.create(
        user=world.a.member, provider="stripe", amount=Decimal("5"), provider_ref="pi_7", status="pending"
    )
    ok = _stripe_event("evt_ok", "payment_intent.succeeded", {"id": "pi_7", "amount": 500, "currency": "eur"})
    for _ in range(3):
        assert _post(api, ok, PROVIDERS["stripe"].sign(ok)).status_code == 200
    # a second, different success event for the same payment posts nothing either
    ok2 = _stripe_event(
        "evt_ok2", "payment_intent.succeeded", {"id": "pi_7", "amount": 500, "currency": "eur"}
    )
    assert _post(api, ok2, PROVIDERS["stripe"].sign(ok2)).json()["outcome"] == "already credited"
    failed = _stripe_event("evt_fail", "payment_intent.payment_failed", {"id": "pi_7", "amount": 500})
    assert (
        _post(api, failed, PROVIDERS["stripe"].sign(failed)).json()["outcome"]
        == "failure after success ignored"
    )
    unknown = _stripe_event(
        "evt_u", "payment_intent.succeeded", {"id": "pi_nope", "amount": 500, "currency": "eur"}
    )
    assert _post(api, unknown, PROVIDERS["stripe"].sign(unknown)).json()["outcome"] == "unknown payment"
    wrong = Payment.objects.create(
        user=world.a.member, provider="stripe", amount=Decimal("5"), provider_ref="pi_w", status="pending"
    )
    cheap = _stripe_event("evt_w", "payment_intent.succeeded", {"id": "pi_w", "amount": 1, "currency": "eur"})
    assert (
        _post(api, cheap, PROVIDERS["stripe"].sign(cheap)).json()["outcome"]
        == "amount mismatch: not credited"
    )
    wrong.refresh_from_db()
    assert wrong.status == "pending"
    assert Posting.objects.filter(kind="topup").count() == 1 and _balance(world.a.member) == Decimal("5.00")
    assert ProviderEvent.objects.count() == 5


def test_razorpay_order_and_signed_webhook(world, as_user, api, fake_api):
    base, server = fake_api
    server.responses["/v1/orders"] = (200, {"id": "order_abc", "entity": "order", "amount": 1000})
    with override_settings(**RAZORPAY, RAZORPAY_API_BASE=base):
        response = as_user(world.a.member).post("/api/v1/wallet/topup", {"amount": "10"}, format="json")
        assert response.json()["order_id"] == "order_abc" and response.json()["key_id"] == "rzp_test_id"
        assert server.received[0][1]["Authorization"].startswith("Basic ")
        body = json.dumps(
            {
                "entity": "event",
                "event": "payment.captured",
                "payload": {
                    "payment": {
                        "entity": {
                            "id": "pay_1",
                            "order_id": "order_abc",
                            "amount": 1000,
                            "currency": "EUR",
                            "status": "captured",
                        }
                    }
                },
            }
        ).encode()
        headers = {**PROVIDERS["razorpay"].sign(body), "X-Razorpay-Event-Id": "rzp_evt_1"}
        assert _post(api, body, {**headers, "X-Razorpay-Signature": "0" * 64}).status_code == 400
        assert _post(api, body, headers).status_code == 200
        assert _post(api, body, headers).json()["outcome"] == "replayed"
    assert _balance(world.a.member) == Decimal("10.00")
    assert ProviderEvent.objects.get().event_id == "rzp_evt_1"


def test_stripe_payout_pending_then_webhook(world, api, fake_api):
    base, server = fake_api
    from billing.tests.helpers import fund

    fund(world.a.member, "30")
    server.responses["/v1/payouts"] = (200, {"id": "po_1", "status": "pending"})
    with override_settings(**STRIPE, STRIPE_API_BASE=base, DEBUG=True):
        payout = services.wallet_withdraw(actor=world.a.member, amount=Decimal("10"), iban=VALID_IBAN)
        payout = services.payout_send(payout_id=payout.pk)
        assert payout.status == "sent" and payout.provider_ref == "po_1"
        assert server.received[0][1]["Idempotency-Key"] == f"payout-{payout.uuid}"
        failed = _stripe_event("evt_pf", "payout.failed", {"id": "po_1", "amount": 1000, "currency": "eur"})
        paid = _stripe_event("evt_pp", "payout.paid", {"id": "po_1", "amount": 1000, "currency": "eur"})
        assert _post(api, paid, PROVIDERS["stripe"].sign(paid)).status_code == 200
        assert _balance(world.a.member) == Decimal("20.00")
        # a failure after payment (the bank returned it): the withdrawal is reversed
        assert _post(api, failed, PROVIDERS["stripe"].sign(failed)).status_code == 200
    payout.refresh_from_db()
    assert payout.status == "failed" and _balance(world.a.member) == Decimal("30.00")
    account = ledger.account_wallet(user=world.a.member)
    account.refresh_from_db()
    assert account.held == 0


def test_a_provider_outage_leaves_the_payout_in_the_outbox(world, fake_api):
    base, server = fake_api
    from billing.tests.helpers import fund

    fund(world.a.member, "30")
    server.responses["/v1/payouts"] = (500, {"error": "down"})
    with override_settings(**STRIPE, STRIPE_API_BASE=base, DEBUG=True):
        payout = services.wallet_withdraw(actor=world.a.member, amount=Decimal("10"), iban=VALID_IBAN)
        assert services.payout_send(payout_id=payout.pk).status == "requested"
        Payout.objects.filter(pk=payout.pk).update(created_at=payout.created_at.replace(year=2020))
        server.responses["/v1/payouts"] = (200, {"id": "po_2", "status": "paid"})
        assert services.payouts_sweep() == 1
    payout.refresh_from_db()
    assert payout.status == "paid" and payout.attempts == 2


def test_dev_callbacks_are_refused_when_dev_is_off(world, api):
    payment = services.payment_start(
        payment=services.payment_create(actor=world.a.member, amount=Decimal("5"))
    )
    body, headers = dev_event(payment)
    with override_settings(DEBUG=False, BILLING_PROVIDER="stripe", STRIPE_WEBHOOK_SECRET="whsec_x"):
        assert _post(api, body, headers).status_code == 400
    assert _post(api, b"{not json", PROVIDERS["dev"].sign(b"{not json")).status_code == 400
    assert _post(api, b"[" * 5000, PROVIDERS["dev"].sign(b"[" * 5000)).status_code == 400
    assert _post(api, body, headers).status_code == 200


def test_a_payout_returned_after_payment_credits_the_wallet_back_once(world, api):
    from billing.tests.helpers import fund

    fund(world.a.member, "30")
    payout = services.wallet_withdraw(actor=world.a.member, amount=Decimal("10"), iban=VALID_IBAN)
    payout = services.payout_send(payout_id=payout.pk)
    assert payout.status == "paid"
    services.wallet_transfer(
        buyer=world.a.member, seller=world.a.other_member, amount=Decimal("20"), idempotency_key="spend"
    )
    body = json.dumps(
        {
            "id": "devevt_ret",
            "type": "payout.failed",
            "object": {"ref": payout.provider_ref, "amount": "10.00", "currency": "EUR"},
        }
    ).encode()
    assert _post(api, body, PROVIDERS["dev"].sign(body)).status_code == 200
    body2 = json.dumps(
        {
            "id": "devevt_ret2",
            "type": "payout.failed",
            "object": {"ref": payout.provider_ref, "amount": "10.00", "currency": "EUR"},
        }
    ).encode()
    assert _post(api, body2, PROVIDERS["dev"].sign(body2)).status_code == 200
    payout.refresh_from_db()
    assert payout.status == "failed"
    assert _balance(world.a.member) == Decimal("10.00")
    assert Posting.objects.filter(kind="correction").count() == 1
