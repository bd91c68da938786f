"""Payment providers behind one interface: `dev` (offline), `stripe`, `razorpay`.

Each provider creates a payment (what the client needs to pay), asks for a payout, and
verifies and parses its webhooks. Signatures are checked with `hmac` directly on the raw
body, before any parsing (no SDK: their formats are small and documented):

- Stripe: `Stripe-Signature: t=<unix>,v1=<hex>`; v1 = HMAC-SHA256(secret, f"{t}.{body}");
  refused when |now - t| > STRIPE_WEBHOOK_TOLERANCE_S (300 s).
- Razorpay: `X-Razorpay-Signature: <hex>` = HMAC-SHA256(secret, body); the event id comes
  in `X-Razorpay-Event-Id` (dedupe on it).
- dev: `X-Devpay-Signature: <hex>` = HMAC-SHA256(BILLING_DEV_SECRET, body).

Outbound calls go over HTTP to `STRIPE_API_BASE` / `RAZORPAY_API_BASE` (tests point them at
a loopback server) with the provider's idempotency header set to our payment/payout id,
and are never made inside a database transaction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.urls import reverse


class SignatureError(Exception):
    """The webhook's signature is missing, malformed, wrong or too old."""


class ProviderError(Exception):
    """The provider refused the call or could not be reached."""


@dataclass
class PaymentStart:
    ref: str
    client_data: dict


@dataclass
class PayoutStart:
    ref: str
    status: str  # "pending", "paid" or "failed"
    reason: str = ""


@dataclass
class Event:
    """A provider event, normalised. `type`: payment.succeeded / payment.failed /
    payout.paid / payout.failed / other."""

    event_id: str
    type: str
    ref: str = ""
    local_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    raw: dict = field(default_factory=dict)


def _minor_to_decimal(value) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _http(method: str, url: str, *, headers: dict, body: bytes | None = None) -> dict:
    if not url.startswith(("https://", "http://")):
        raise ProviderError(f"Not an HTTP URL: {url}")
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 (scheme checked)
    try:
        with urllib.request.urlopen(request, timeout=settings.BILLING_PROVIDER_TIMEOUT_S) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode(errors="replace")
        raise ProviderError(f"{exc.code} {detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise ProviderError(str(exc)) from None


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise SignatureError("The body is not JSON.") from None
    if not isinstance(data, dict):
        raise SignatureError("The body is not a JSON object.")
    return data


class DevProvider:
    """Offline: a local checkout page confirms or declines; payouts succeed at once, except
    amounts ending in .13 (cents) which the dev bank declines, to try the failure path."""

    name = "dev"
    header = "X-Devpay-Signature"

    def secret(self) -> str:
        return settings.BILLING_DEV_SECRET

    def payment_create(self, payment) -> PaymentStart:
        return PaymentStart(
            ref=f"devpay_{payment.uuid.hex}",
            client_data={"redirect_url": reverse("billing:dev_checkout", args=[payment.uuid])},
        )

    def payout_create(self, payout) -> PayoutStart:
        if _cents(payout.amount) % 100 == 13:
            return PayoutStart(
                ref=f"devpo_{payout.uuid.hex}", status="failed", reason="Declined by the dev bank"
            )
        return PayoutStart(ref=f"devpo_{payout.uuid.hex}", status="paid")

    def sign(self, body: bytes) -> dict:
        return {self.header: _hmac_hex(self.secret(), body)}

    def verify(self, body: bytes, headers) -> Event:
        given = headers.get(self.header, "")
        if not given or not hmac.compare_digest(given, _hmac_hex(self.secret(), body)):
            raise SignatureError("Bad dev signature.")
        data = _json(body)
        obj = data.get("object") or {}
        amount = obj.get("amount")
        return Event(
            event_id=str(data.get("id", "")),
            type=str(data.get("type", "other")),
            ref=str(obj.get("ref", "")),
            amount=Decimal(str(amount)) if amount is not None else None,
            currency=str(obj.get("currency", "")).upper(),
            raw=data,
        )


class StripeProvider:
    name = "stripe"
    header = "Stripe-Signature"
    TYPES = {
        "payment_intent.succeeded": "payment.succeeded",
        "payment_intent.payment_failed": "payment.failed",
        "payout.paid": "payout.paid",
        "payout.failed": "payout.failed",
        "payout.canceled": "payout.failed",
    }

    def _headers(self, idempotency_key: str) -> dict:
        return {
            "Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": idempotency_key,
        }

    def _post(self, path: str, params: dict, idempotency_key: str) -> dict:
        body = urllib.parse.urlencode(params).encode()
        return _http(
            "POST",
            settings.STRIPE_API_BASE.rstrip("/") + path,
            headers=self._headers(idempotency_key),
            body=body,
        )

    def payment_create(self, payment) -> PaymentStart:
        data = self._post(
            "/v1/payment_intents",
            {
                "amount": _cents(payment.amount),
                "currency": payment.currency.lower(),
                "metadata[payment_id]": str(payment.uuid),
                "automatic_payment_methods[enabled]": "true",
            },
            f"payment-{payment.uuid}",
        )
        if not data.get("id") or not data.get("client_secret"):
            raise ProviderError("Stripe answered without a PaymentIntent id or client secret.")
        return PaymentStart(ref=data["id"], client_data={"client_secret": data["client_secret"]})

    def payout_create(self, payout) -> PayoutStart:
        data = self._post(
            "/v1/payouts",
            {
                "amount": _cents(payout.amount),
                "currency": payout.currency.lower(),
                "metadata[payout_id]": str(payout.uuid),
                "description": f"CommonWatt withdrawal {payout.uuid}",
            },
            f"payout-{payout.uuid}",
        )
        status = {"paid": "paid", "failed": "failed", "canceled": "failed"}.get(data.get("status"), "pending")
        return PayoutStart(
            ref=str(data.get("id", "")), status=status, reason=str(data.get("failure_message") or "")
        )

    def sign(self, body: bytes, timestamp: int | None = None) -> dict:
        t = int(time.time()) if timestamp is None else timestamp
        mac = _hmac_hex(settings.STRIPE_WEBHOOK_SECRET, f"{t}.".encode() + body)
        return {self.header: f"t={t},v1={mac}"}

    def verify(self, body: bytes, headers) -> Event:
        header = headers.get(self.header, "")
        parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
        stamps = [v for k, v in parts if k.strip() == "t"]
        signatures = [v.strip() for k, v in parts if k.strip() == "v1"]
        if not settings.STRIPE_WEBHOOK_SECRET or len(stamps) != 1 or not signatures:
            raise SignatureError("Malformed Stripe-Signature header.")
        try:
            t = int(stamps[0])
        except ValueError:
            raise SignatureError("Bad Stripe timestamp.") from None
        expected = _hmac_hex(settings.STRIPE_WEBHOOK_SECRET, f"{t}.".encode() + body)
        if not any(hmac.compare_digest(expected, s) for s in signatures):
            raise SignatureError("No matching v1 signature.")
        if abs(time.time() - t) > settings.STRIPE_WEBHOOK_TOLERANCE_S:
            raise SignatureError("Timestamp outside the tolerance.")
        data = _json(body)
        obj = (data.get("data") or {}).get("object") or {}
        meta = obj.get("metadata") or {}
        amount = obj.get("amount_received") or obj.get("amount")
        return Event(
            event_id=str(data.get("id", "")),
            type=self.TYPES.get(data.get("type"), "other"),
            ref=str(obj.get("id", "")),
            local_id=str(meta.get("payment_id") or meta.get("payout_id") or ""),
            amount=_minor_to_decimal(amount),
            currency=str(obj.get("currency", "")).upper(),
            raw=data,
        )


class RazorpayProvider:
    name = "razorpay"
    header = "X-Razorpay-Signature"
    TYPES = {
        "payment.captured": "payment.succeeded",
        "order.paid": "payment.succeeded",
        "payment.failed": "payment.failed",
        "payout.processed": "payout.paid",
        "payout.failed": "payout.failed",
        "payout.rejected": "payout.failed",
        "payout.reversed": "payout.failed",
    }

    def _post(self, path: str, payload: dict, idempotency_key: str) -> dict:
        auth = base64.b64encode(
            f"{settings.RAZORPAY_KEY_ID}:{settings.RAZORPAY_KEY_SECRET}".encode()
        ).decode()
        headers = {
            "Authorization": f"Basic {auth}",
            "Content-Type": "application/json",
            "X-Payout-Idempotency": idempotency_key,
        }
        return _http(
            "POST",
            settings.RAZORPAY_API_BASE.rstrip("/") + path,
            headers=headers,
            body=json.dumps(payload).encode(),
        )

    def payment_create(self, payment) -> PaymentStart:
        data = self._post(
            "/v1/orders",
            {
                "amount": _cents(payment.amount),
                "currency": payment.currency,
                "receipt": str(payment.uuid),
                "notes": {"payment_id": str(payment.uuid)},
            },
            f"payment-{payment.uuid}",
        )
        if not data.get("id"):
            raise ProviderError("Razorpay answered without an order id.")
        return PaymentStart(
            ref=data["id"],
            client_data={
                "order_id": data["id"],
                "key_id": settings.RAZORPAY_KEY_ID,
                "amount": _cents(payment.amount),
                "currency": payment.currency,
            },
        )

    def payout_create(self, payout) -> PayoutStart:
        data = self._post(
            "/v1/payouts",
            {
                "account_number": settings.RAZORPAY_ACCOUNT_NUMBER,
                "amount": _cents(payout.amount),
                "currency": payout.currency,
                "mode": "NEFT",
                "purpose": "payout",
                "queue_if_low_balance": True,
                "reference_id": str(payout.uuid),
                "fund_account": {
                    "account_type": "bank_account",
                    "bank_account": {"name": str(payout.user), "account_number": payout.iban},
                },
            },
            f"payout-{payout.uuid}",
        )
        status = {
            "processed": "paid",
            "failed": "failed",
            "rejected": "failed",
            "reversed": "failed",
            "cancelled": "failed",
        }.get(data.get("status"), "pending")
        return PayoutStart(ref=str(data.get("id", "")), status=status)

    def sign(self, body: bytes) -> dict:
        return {self.header: _hmac_hex(settings.RAZORPAY_WEBHOOK_SECRET, body)}

    def verify(self, body: bytes, headers) -> Event:
        given = headers.get(self.header, "")
        secret = settings.RAZORPAY_WEBHOOK_SECRET
        if not secret or not given or not hmac.compare_digest(given, _hmac_hex(secret, body)):
            raise SignatureError("Bad Razorpay signature.")
        data = _json(body)
        payload = data.get("payload") or {}
        kind = str(data.get("event", ""))
        entity = {}
        for name in ("payout", "payment", "order"):
            if name in payload:
                entity = (payload[name] or {}).get("entity") or {}
                break
        ref = (
            str(entity.get("order_id") or entity.get("id") or "")
            if "payout" not in payload
            else str(entity.get("id", ""))
        )
        notes = entity.get("notes") or {}
        event_id = headers.get("X-Razorpay-Event-Id", "") or str(data.get("id", ""))
        return Event(
            event_id=event_id,
            type=self.TYPES.get(kind, "other"),
            ref=ref,
            local_id=str(notes.get("payment_id", "") if isinstance(notes, dict) else ""),
            amount=_minor_to_decimal(entity.get("amount")),
            currency=str(entity.get("currency", "")).upper(),
            raw=data,
        )


PROVIDERS = {"dev": DevProvider(), "stripe": StripeProvider(), "razorpay": RazorpayProvider()}


def provider_get(name: str | None = None):
    return PROVIDERS[name or settings.BILLING_PROVIDER]


def provider_for_callback(headers):
    """The enabled provider whose signature header the request carries, else None.

    The dev provider is enabled only with DEBUG on or when it is the configured provider."""
    enabled = {settings.BILLING_PROVIDER}
    if settings.DEBUG:
        enabled.add("dev")
    if settings.STRIPE_WEBHOOK_SECRET:
        enabled.add("stripe")
    if settings.RAZORPAY_WEBHOOK_SECRET:
        enabled.add("razorpay")
    for name in ("stripe", "razorpay", "dev"):
        provider = PROVIDERS[name]
        if name in enabled and headers.get(provider.header):
            return provider
    return None
