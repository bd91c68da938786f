"""Shared test helpers: fund a wallet through the real top-up path (dev provider callback)."""

import json
import uuid
from decimal import Decimal

from billing import services
from billing.providers import PROVIDERS


def dev_event(payment, *, confirm: bool = True, event_id: str | None = None) -> tuple[bytes, dict]:
    body = json.dumps(
        {
            "id": event_id or f"devevt_{uuid.uuid4().hex}",
            "type": "payment.succeeded" if confirm else "payment.failed",
            "object": {
                "ref": payment.provider_ref,
                "amount": str(payment.amount),
                "currency": payment.currency,
            },
        }
    ).encode()
    return body, PROVIDERS["dev"].sign(body)


def fund(user, amount) -> None:
    """Top up `user`'s wallet by `amount` via the dev provider and its signed callback."""
    payment = services.payment_start(payment=services.payment_create(actor=user, amount=Decimal(str(amount))))
    body, headers = dev_event(payment)
    services.callback_receive(body=body, headers=headers)


VALID_IBAN = "IT60X0542811101000000123456"
