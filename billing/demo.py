"""Demo wallets with a history: for the first three demo members, a top-up through the dev
provider (checkout confirmed by a signed callback), a withdrawal paid by the dev bank, and
a P2P purchase from the next member. Idempotent: keyed on the P2P posting's key."""

import json
from decimal import Decimal

from django.conf import settings

from billing import services
from billing.models import Posting
from billing.providers import PROVIDERS

DEMO_IBAN = "IT60X0542811101000000123456"


def _member_history(buyer, seller, community) -> bool:
    key = f"demo-p2p-{buyer.pk}"
    if Posting.objects.filter(idempotency_key=key).exists():
        return False
    payment = services.payment_start(payment=services.payment_create(actor=buyer, amount=Decimal("100.00")))
    body = json.dumps(
        {
            "id": f"demo-topup-{payment.uuid}",
            "type": "payment.succeeded",
            "object": {"ref": payment.provider_ref, "amount": "100.00", "currency": payment.currency},
        }
    ).encode()
    services.callback_receive(body=body, headers=PROVIDERS["dev"].sign(body))
    payout = services.wallet_withdraw(actor=buyer, amount=Decimal("20.00"), iban=DEMO_IBAN)
    services.payout_send(payout_id=payout.pk)
    services.wallet_transfer(
        buyer=buyer,
        seller=seller,
        amount=Decimal("15.00"),
        idempotency_key=key,
        reason="P2P purchase of 75 kWh (demo)",
        community=community,
    )
    return True


def seed(ctx: dict, out) -> None:
    if not (settings.DEBUG or settings.BILLING_PROVIDER == "dev"):
        out.write("billing: demo wallets skipped (the dev payment provider is off)")
        return
    memberships = ctx.get("memberships") or []
    users = [m.user for m in memberships[:4]]
    created = sum(
        _member_history(users[i], users[i + 1], ctx.get("community")) for i in range(min(3, len(users) - 1))
    )
    out.write(f"billing: {created} demo wallet histories (top-up, withdrawal, P2P transfer)")
