"""Reporting a suspension to the buyer and the host.

The `Suspension` row is the record (both see it in the API and on the market page). In the
same transaction each of them gets a notification (kind `wallet_movement`, deduplicated on
the suspension), so the report commits with the suspension or not at all; email / push /
SMS leave after the commit through the notifications outbox. `reported_at` says when.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

MARKET_URL = "/market/"


def suspension_report(suspension) -> None:
    """Notify buyer and host of `suspension` (call inside its transaction; idempotent)."""
    from notifications.models import NotificationKind
    from notifications.services import notify

    allocation = suspension.allocation
    offer = allocation.offer
    data = {
        "market": "allocation_suspended",
        "allocation": allocation.pk,
        "offer": offer.pk,
        "interval_start": suspension.interval_start.isoformat(),
        "amount_due_eur": str(suspension.amount_due_eur),
    }
    messages = (
        (
            allocation.buyer,
            _("Market allocation suspended"),
            _(
                "Your wallet could not pay %(amount)s EUR for %(kwh)s kWh: "
                "your allocation on offer #%(offer)s is suspended. Top up and take the offer again."
            ),
        ),
        (
            offer.host,
            _("A buyer's allocation was suspended"),
            _(
                "A buyer could not pay %(amount)s EUR for %(kwh)s kWh of your offer #%(offer)s: "
                "their allocation is suspended."
            ),
        ),
    )
    for user, title, body in messages:
        notify(
            user=user,
            kind=NotificationKind.WALLET_MOVEMENT,
            title=title,
            body=body
            % {"amount": suspension.amount_due_eur, "kwh": suspension.energy_kwh, "offer": offer.pk},
            url=MARKET_URL,
            data=data,
            dedup_key=f"market:suspension:{suspension.pk}:{user.pk}",
        )
    type(suspension).objects.filter(pk=suspension.pk).update(reported_at=timezone.now())
