"""Reads: a member's wallet and entries, operators' metrics."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext

from billing.models import (
    Account,
    AccountKind,
    EntryKind,
    Leg,
    Payment,
    PaymentStatus,
    Payout,
    PayoutStatus,
    Posting,
)
from billing.receivables import owed_by
from core.exceptions import Forbidden, Invalid, NotFound

ZERO = Decimal("0.00")


def membership_of(*, user, membership_id):
    """The caller's own membership (a view of the wallet), else `NotFound`."""
    from communities.models import Membership

    try:
        membership_id = int(membership_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    membership = Membership.objects.filter(pk=membership_id, user=user).select_related("community").first()
    if membership is None:
        raise NotFound()
    return membership


def wallet_account(*, user, currency: str | None = None) -> Account | None:
    return Account.objects.filter(
        kind=AccountKind.MEMBER_WALLET, user=user, currency=currency or settings.BILLING_CURRENCY
    ).first()


def wallet_entries(*, user, kind: str | None = None, since=None, until=None, membership=None):
    """The caller's wallet legs, newest first (only ever their own wallet)."""
    qs = (
        Leg.objects.filter(account__kind=AccountKind.MEMBER_WALLET, account__user=user)
        .select_related("posting")
        .order_by("-id")
    )
    if kind:
        if kind not in EntryKind.values:
            raise Invalid(gettext("kind: unknown kind."),
                          details={"kind": [f"One of {', '.join(EntryKind.values)}."]})
        qs = qs.filter(kind=kind)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    if membership is not None:
        qs = qs.filter(posting__community=membership.community)
    return qs


def wallet_get(*, user, membership=None, last: int = 10) -> dict:
    account = wallet_account(user=user)
    balance = account.balance if account else ZERO
    held = account.held if account else ZERO
    pending_in = (
        Payment.objects.filter(user=user, status=PaymentStatus.PENDING).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    currency = account.currency if account else settings.BILLING_CURRENCY
    owed, owed_to = owed_by(user=user, currency=currency)
    return {
        "currency": currency,
        "balance": balance,
        "owed": owed,
        "owed_to": owed_to,
        "held": held,
        "available": balance - held,
        "pending": {"topups": pending_in, "withdrawals": held},
        "membership": membership.pk if membership else None,
        "last_entries": list(wallet_entries(user=user, membership=membership)[:last]),
    }


def parse_when(value: str | None, *, field: str, end: bool = False):
    """An ISO date (whole day, UTC) or datetime; None when absent; `Invalid` when bad."""
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
        if day is None:
            raise Invalid(gettext("%(field)s: an ISO date or datetime.") % {"field": field},
                          details={field: ["An ISO date or datetime."]})
        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


PERIOD_RE = re.compile(r"^(\d{1,4})([hd])$")


def period_parse(value: str | None) -> timedelta:
    """`?period=24h` / `7d` (default 24h, at most 3660 days)."""
    match = PERIOD_RE.match(value or "24h")
    if not match:
        raise Invalid(gettext("period: like 24h or 30d."), details={"period": ["Like 24h or 30d."]})
    number, unit = int(match.group(1)), match.group(2)
    delta = timedelta(hours=number) if unit == "h" else timedelta(days=number)
    if number < 1 or delta > timedelta(days=3660):
        raise Invalid(gettext("period: between 1h and 3660d."), details={"period": ["Between 1h and 3660d."]})
    return delta


def _by(qs, field: str) -> dict:
    return {row[field]: row["n"] for row in qs.order_by().values(field).annotate(n=Count("pk"))}


def _device_status(devices, now) -> dict:
    """Counts per `Device.status` (error / online / offline), computed in SQL with the same
    rule as the property."""
    from django.db.models import Case, DurationField, F, Value, When

    window = F("expected_interval_s") * Value(
        timedelta(seconds=settings.IOT_OFFLINE_AFTER_INTERVALS), output_field=DurationField()
    )
    status = Case(
        When(
            Q(last_error_at__isnull=False)
            & (Q(last_seen__isnull=True) | Q(last_error_at__gt=F("last_seen"))),
            then=Value("error"),
        ),
        When(last_seen__gte=Value(now) - window, then=Value("online")),
        default=Value("offline"),
    )
    return _by(devices.annotate(computed_status=status), "computed_status")


def metrics_get(*, user, period: timedelta) -> dict:
    """Operators' figures: everything for admins, their organization's for vendors."""
    from accounts.models import Role, User
    from communities.models import Community, Membership
    from iot.models import DeadLetter, Device, Reading
    from simulation.models import SimulationRun

    if not user.is_platform_admin and user.role != Role.VENDOR:
        raise Forbidden(gettext("Operators' metrics are for administrators and vendors."))
    now = timezone.now()
    since = now - period
    day_ago = now - timedelta(hours=24)
    users = User.objects.visible_to(user)
    communities = Community.objects.visible_to(user)
    members = Membership.objects.filter(community__in=communities, left_at__isnull=True)
    devices = Device.objects.visible_to(user)
    if user.is_platform_admin:
        wallets = Account.objects.filter(kind=AccountKind.MEMBER_WALLET)
        postings = Posting.objects.all()
        payments = Payment.objects.all()
        payouts = Payout.objects.all()
        readings = Reading.objects.all()
        dead = DeadLetter.objects.all()
        runs = SimulationRun.objects.all()
    else:
        member_users = members.values("user_id")
        wallets = Account.objects.filter(kind=AccountKind.MEMBER_WALLET, user__in=member_users)
        postings = Posting.objects.filter(
            Q(community__in=communities) | Q(legs__account__in=wallets)
        ).distinct()
        payments = Payment.objects.filter(user__in=member_users)
        payouts = Payout.objects.filter(user__in=member_users)
        readings = Reading.objects.filter(device__in=devices)
        dead = DeadLetter.objects.filter(device__in=devices)
        runs = SimulationRun.objects.visible_to(user)
    totals = wallets.aggregate(balance=Sum("balance"), held=Sum("held"))
    return {
        "period": {"start": since, "end": now},
        "scope": "platform" if user.is_platform_admin else "organization",
        "users": {"by_role": _by(users, "role"), "by_status": _by(users, "status"), "total": users.count()},
        "communities": {"total": communities.count(), "by_status": _by(communities, "status")},
        "members": {"current": members.count()},
        "devices": {"total": devices.count(), "by_status": _device_status(devices, now)},
        "readings": {
            "last_24h": readings.filter(ts__gte=day_ago).count(),
            "dead_letters_last_24h": dead.filter(received_at__gte=day_ago).count(),
        },
        "simulation_runs": {
            "in_period": runs.filter(created_at__gte=since).count(),
            "by_status": _by(runs.filter(created_at__gte=since), "status"),
        },
        "wallets": {
            "count": wallets.count(),
            "balance_total": totals["balance"] or ZERO,
            "held_total": totals["held"] or ZERO,
            "pending_payouts": payouts.filter(
                status__in=[PayoutStatus.REQUESTED, PayoutStatus.SENT]
            ).aggregate(s=Sum("amount"))["s"]
            or ZERO,
            "currency": settings.BILLING_CURRENCY,
        },
        "postings": {
            "in_period": postings.filter(created_at__gte=since).count(),
            "by_kind": _by(postings.filter(created_at__gte=since), "kind"),
        },
        "payments": {"by_status": _by(payments.filter(created_at__gte=since), "status")},
        "payouts": {"by_status": _by(payouts.filter(created_at__gte=since), "status")},
    }
