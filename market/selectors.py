# ruff: noqa: S608  - SQL is assembled from module constants (table names); values are bound.
"""Reads of the market: scoped lists, the community's settlement interval, interval energy."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import F, Q

from communities.models import Configuration, ConfigurationStatus, RegimeParameters
from iot.rollups.tables import rollup_table
from market.models import Allocation, AllocationStatus, Delivery, Offer, OfferStatus, Suspension

DEFAULT_INTERVAL_MINUTES = 60
ROLLUP_TABLE = {15: rollup_table(minutes=15), 60: rollup_table(minutes=60)}


def offers_list(
    *, user, community_id: int | None = None, mine: bool = False, open_at: datetime | None = None
):
    qs = Offer.objects.visible_to(user).select_related("community", "host", "metering_point")
    if community_id:
        qs = qs.filter(community_id=community_id)
    if mine:
        qs = qs.filter(host=user)
    if open_at is not None:
        qs = qs.filter(status=OfferStatus.OPEN, valid_from__lte=open_at, valid_to__gt=open_at).filter(
            Q(cap_kwh__isnull=True) | Q(delivered_kwh__lt=F("cap_kwh"))
        )
    return qs


def allocations_list(*, user, role: str | None = None, status: str | None = None):
    qs = Allocation.objects.visible_to(user).select_related(
        "offer", "offer__host", "buyer", "metering_point", "suspension"
    )
    if role == "buyer":
        qs = qs.filter(buyer=user)
    elif role == "host":
        qs = qs.filter(offer__host=user)
    if status:
        qs = qs.filter(status=status)
    return qs


def deliveries_list(
    *, user, role: str | None = None, start: datetime | None = None, end: datetime | None = None
):
    qs = Delivery.objects.visible_to(user).select_related("offer", "buyer", "host")
    if role == "buyer":
        qs = qs.filter(buyer=user)
    elif role == "host":
        qs = qs.filter(host=user)
    if start:
        qs = qs.filter(interval_start__gte=start)
    if end:
        qs = qs.filter(interval_start__lt=end)
    return qs


def suspensions_list(*, user):
    return Suspension.objects.visible_to(user).select_related("allocation", "allocation__offer")


def interval_minutes(*, community, at: datetime) -> int:
    """The community's settlement interval at `at`: the `interval_minutes` of its active
    configuration's regime parameters, else of its regime's parameter set in force, else 60.
    Only 15 and 60 are settled (the rollups' resolutions)."""
    day = at.date()
    params = None
    configuration = (
        Configuration.objects.filter(
            community=community,
            status=ConfigurationStatus.ACTIVE,
            valid_from__lte=day,
            regime_parameters__isnull=False,
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))
        .select_related("regime_parameters")
        .first()
    )
    if configuration is not None:
        params = configuration.regime_parameters.params
    else:
        row = (
            RegimeParameters.objects.filter(regime=community.regime, valid_from__lte=day)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))
            .order_by("-valid_from")
            .first()
        )
        params = row.params if row is not None else None
    minutes = int((params or {}).get("interval_minutes") or DEFAULT_INTERVAL_MINUTES)
    return minutes if minutes in ROLLUP_TABLE else DEFAULT_INTERVAL_MINUTES


def interval_energy(
    *, point_ids: list[int], minutes: int, start: datetime, end: datetime
) -> dict[tuple[int, datetime], dict[str, float]]:
    """{(metering point id, interval start): {"import": kWh, "export": kWh}} from the
    rollups of the points' meters (counter deltas; `iot.rollups`), intervals starting in
    [start, end). A point or interval without a rollup row is absent (no data yet)."""
    if not point_ids:
        return {}
    sql = (
        "SELECT d.metering_point_id, x.bucket,"
        " sum(x.delta) FILTER (WHERE m.code = 'energy_import_kwh'),"
        " sum(x.delta) FILTER (WHERE m.code = 'energy_export_kwh')"
        f" FROM {ROLLUP_TABLE[minutes]} x JOIN iot_metric m ON m.id = x.metric_id"
        " JOIN iot_device d ON d.id = x.device_id"
        " WHERE d.metering_point_id = ANY(%s) AND d.kind = 'meter'"
        " AND m.code IN ('energy_import_kwh', 'energy_export_kwh')"
        " AND x.bucket >= %s AND x.bucket < %s GROUP BY 1, 2"
    )
    out: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(point_ids), start, end])
        for point_id, bucket, imported, exported in cursor.fetchall():
            out[(point_id, bucket)] = {"import": imported, "export": exported}
    return out


def live_allocation_of(*, offer, buyer) -> Allocation | None:
    return (
        Allocation.objects.filter(offer=offer, buyer=buyer).exclude(status=AllocationStatus.CANCELLED).first()
    )
