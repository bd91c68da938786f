"""Reporting a suspension to the buyer and the host.

The `Suspension` row is the record (both see it in the API and on the market page). After
commit, each of them also gets a notification through `notifications.services.notify`
when that app is installed (branch h-notify); `reported_at` says when that happened.
"""

from __future__ import annotations

import logging
from importlib.util import find_spec

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger("commonwatt.market")


def suspension_report_later(suspension_id: int) -> None:
    transaction.on_commit(lambda: suspension_report(suspension_id))


def _notify_available() -> bool:
    try:
        return find_spec("notifications.services") is not None
    except ModuleNotFoundError:
        return False


def suspension_report(suspension_id: int) -> bool:
    """Notify buyer and host once; True when notified now."""
    from market.models import Suspension

    suspension = (
        Suspension.objects.select_related("allocation__offer")
        .filter(pk=suspension_id, reported_at__isnull=True)
        .first()
    )
    if suspension is None:
        return False
    if _notify_available():
        from notifications.services import notify

        allocation = suspension.allocation
        for user in (allocation.buyer, allocation.offer.host):
            notify(
                user=user,
                kind="market.allocation_suspended",
                title="Market allocation suspended",
                body=suspension.reason,
                url="/market/",
                data={"allocation": allocation.pk, "offer": allocation.offer_id},
            )
    else:
        logger.warning("market: suspension %s recorded (no notifications app to report it)", suspension_id)
    Suspension.objects.filter(pk=suspension_id, reported_at__isnull=True).update(reported_at=timezone.now())
    return True
