"""The GDPR export and erasure of the apps that came after privacy: statements, settlement
lines, notifications and the peer-to-peer market (imported from PrivacyConfig.ready).

Export: what each app holds about the person (their statements with the printed data,
their settlement lines, notifications and notification settings, push subscriptions without
their keys, market offers, allocations and deliveries).

Erasure: what law requires to keep stays under the pseudonym (statements and their lines,
settlement lines, market deliveries: accounting records); what only serves the person goes
(notifications, push subscriptions, the SMS phone number); free text that may name them is
scrubbed (a statement's printed name, an offer's note, a suspension's reason). A statement's
`content_hash` still names the document as it was sent: the hash identifies nobody.
"""

from __future__ import annotations

from django.db.models import Q

from privacy.erasure import Subject
from privacy.erasure import register as eraser
from privacy.exporters import register as exporter

# --- export -------------------------------------------------------------------------------


@exporter("statements")
def _statements(user):
    from statements.models import Statement

    return Statement.objects.filter(user=user).order_by("month", "pk").values(
        "id", "number", "community_id", "month", "kind", "total_eur", "content_hash", "created_at", "data")


@exporter("settlement_lines")
def _settlement_lines(user):
    from settlement.models import SettlementLine

    return (SettlementLine.objects.filter(Q(membership__user=user) | Q(user=user))
            .order_by("run_id", "position").values(
                "run_id", "run__period__community_id", "run__period__month", "run__status", "kind", "rule",
                "plant_id", "energy_kwh", "amount", "detail"))


@exporter("notifications")
def _notifications(user):
    from notifications.models import Notification

    return Notification.objects.filter(user=user).order_by("created_at").values(
        "kind", "title", "body", "url", "urgent", "created_at", "read_at")


@exporter("notification_settings")
def _notification_settings(user):
    from notifications.models import Preference, UserSettings

    rows = [{"setting": "quiet_hours", "value": f"{s.quiet_start}-{s.quiet_end}" if s.quiet_start else "",
             "time_zone": s.time_zone, "phone_e164": s.phone_e164}
            for s in UserSettings.objects.filter(user=user)]
    rows += [{"setting": f"{p.kind}:{p.channel}", "value": p.enabled, "time_zone": "", "phone_e164": ""}
             for p in Preference.objects.filter(user=user).order_by("kind", "channel")]
    return rows


@exporter("push_subscriptions")
def _push_subscriptions(user):
    from notifications.models import PushSubscription

    # the browser's encryption keys are secrets of the subscription, not data about the person
    return PushSubscription.objects.filter(user=user).values("endpoint", "user_agent", "created_at")


@exporter("market_offers")
def _market_offers(user):
    from market.models import Offer

    return Offer.objects.filter(host=user).order_by("pk").values(
        "id", "community_id", "metering_point_id", "price_eur_per_kwh", "valid_from", "valid_to", "cap_kwh",
        "delivered_kwh", "status", "withdrawn_at", "note", "created_at")


@exporter("market_allocations")
def _market_allocations(user):
    from market.models import Allocation

    return Allocation.objects.filter(buyer=user).order_by("pk").values(
        "id", "offer_id", "metering_point_id", "max_kwh", "delivered_kwh", "status", "created_at", "ended_at")


@exporter("market_deliveries")
def _market_deliveries(user):
    from market.models import Delivery

    return (Delivery.objects.filter(Q(buyer=user) | Q(host=user)).order_by("interval_start", "pk").values(
        "id", "offer_id", "allocation_id", "host_id", "buyer_id", "interval_start", "interval_end",
        "energy_kwh", "price_eur_per_kwh", "amount_eur", "fee_eur", "rule"))


# --- erasure ------------------------------------------------------------------------------


@eraser("statements")
def _erase_statements(subject: Subject) -> None:
    from statements.models import Statement, StatementEmail

    for statement in Statement.objects.filter(user=subject.user):
        data = subject.scrub_json(statement.data)
        if isinstance(data.get("member"), dict):
            data["member"]["name"] = subject.pseudonym
        statement.data = data
        statement.save(update_fields=["data"])
    StatementEmail.objects.filter(statement__user=subject.user).update(email=subject.user.email,
                                                                       last_error="")


@eraser("notifications")
def _erase_notifications(subject: Subject) -> None:
    from notifications.models import Notification, PushSubscription, UserSettings

    Notification.objects.filter(user=subject.user).delete()  # their deliveries go with them
    PushSubscription.objects.filter(user=subject.user).delete()
    UserSettings.objects.filter(user=subject.user).update(phone_e164="")


@eraser("market")
def _erase_market(subject: Subject) -> None:
    from market.models import Offer, Suspension

    Offer.objects.filter(host=subject.user).exclude(note="").update(note="")
    for suspension in Suspension.objects.filter(
            Q(allocation__buyer=subject.user) | Q(allocation__offer__host=subject.user)):
        reason = subject.scrub(suspension.reason)
        if reason != suspension.reason:
            suspension.reason = reason
            suspension.save(update_fields=["reason"])
