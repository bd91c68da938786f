"""Writes of the pricing app: tariffs and the market price import (an upsert)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.exceptions import Conflict, Forbidden, Invalid
from core.scoping import require_manageable
from pricing.importing import PARSERS, PriceRow, Refused, detect_format
from pricing.models import MarketPrice, PriceSource, Tariff


@dataclass
class ImportReport:
    format: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[dict] = field(default_factory=list)
    gaps: list[dict] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    spans: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (f"{self.rows} prices read: {self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged; {len(self.refused)} rows refused; "
                f"{sum(g['missing'] for g in self.gaps)} intervals missing in {len(self.gaps)} gaps")


def _require_price_admin(actor) -> None:
    """Market prices are platform data: only admins change them (None = an operator's CLI)."""
    if actor is not None and not actor.is_platform_admin:
        raise Forbidden(gettext("Only platform admins import market prices."))


def prices_import(*, actor, data: bytes, filename: str = "", fmt: str | None = None) -> ImportReport:
    """Import a CSV or GME XML price file: an upsert keyed (zone, interval, resolution).

    Importing the same file twice changes nothing; a changed price is updated and counted.
    Rows that break a rule are refused with their line numbers, the rest are imported; a
    file that cannot be read at all imports nothing (`MalformedFile`).
    """
    _require_price_admin(actor)
    limit = settings.PRICING_IMPORT_MAX_MB * 1024 * 1024
    if len(data) > limit:
        raise Invalid(gettext("The file is larger than %(mb)s MB.") % {"mb": settings.PRICING_IMPORT_MAX_MB},
                      details={"file": [f"more than {settings.PRICING_IMPORT_MAX_MB} MB"]})
    fmt = fmt or detect_format(filename, data)
    if fmt not in PARSERS:
        raise Invalid(gettext("Unknown format %(format)r.") % {"format": fmt},
                      details={"format": ["csv or gme_xml"]})
    rows, refused, ignored = PARSERS[fmt](data)
    report = prices_upsert(rows=rows, source=PriceSource.CSV if fmt == "csv" else PriceSource.GME_XML,
                           refused=refused)
    report.format = fmt
    report.ignored_columns = ignored
    return report


@transaction.atomic
def prices_upsert(*, rows: list[PriceRow], source: str, refused: list[Refused] = ()) -> ImportReport:
    """Create the new prices, update the changed ones; report gaps in the covered spans."""
    report = ImportReport(format=source, refused=[{"line": r.line, "reason": r.reason} for r in refused])
    wanted: dict[tuple, PriceRow] = {}
    for row in rows:
        key = (row.zone, row.resolution_minutes, row.start)
        seen = wanted.get(key)
        if seen is not None and seen.price_eur_per_mwh != row.price_eur_per_mwh:
            report.refused.append({"line": row.line, "reason": f"same interval as line {seen.line} "
                                   "with another price"})
            continue
        wanted.setdefault(key, row)
    report.rows = len(wanted)
    groups: dict[tuple, list[PriceRow]] = defaultdict(list)
    for row in wanted.values():
        groups[(row.zone, row.resolution_minutes)].append(row)
    new, changed = [], []
    for (zone, resolution), members in groups.items():
        lo, hi = min(r.start for r in members), max(r.start for r in members)
        existing = {p.interval_start: p for p in MarketPrice.objects.filter(
            market_zone=zone, resolution_minutes=resolution, interval_start__range=(lo, hi))}
        for row in members:
            price = existing.get(row.start)
            if price is None:
                new.append(MarketPrice(
                    market_zone=zone, interval_start=row.start, resolution_minutes=resolution,
                    price_eur_per_mwh=row.price_eur_per_mwh, source=source))
            elif price.price_eur_per_mwh != row.price_eur_per_mwh:
                price.price_eur_per_mwh, price.source = row.price_eur_per_mwh, source
                changed.append(price)
            else:
                report.unchanged += 1
    try:
        MarketPrice.objects.bulk_create(new, batch_size=2000)
    except IntegrityError:
        raise Conflict(gettext("Another import wrote the same prices meanwhile; run it again.")) from None
    now = timezone.now()
    for price in changed:
        price.updated_at = now  # bulk_update does not apply auto_now
    MarketPrice.objects.bulk_update(changed, ["price_eur_per_mwh", "source", "updated_at"], batch_size=2000)
    report.created, report.updated = len(new), len(changed)
    for (zone, resolution), members in sorted(groups.items()):
        lo, hi = min(r.start for r in members), max(r.start for r in members)
        report.spans.append({"zone": zone, "resolution_minutes": resolution, "start": lo.isoformat(),
                             "end": (hi + timedelta(minutes=resolution)).isoformat()})
        report.gaps += price_gaps(zone=zone, resolution_minutes=resolution, start=lo, end=hi)
    report.refused.sort(key=lambda r: r["line"])
    return report


def price_gaps(*, zone: str, resolution_minutes: int, start: datetime, end: datetime) -> list[dict]:
    """Runs of missing intervals between two stored ones (inclusive), as [start, end)."""
    step = timedelta(minutes=resolution_minutes)
    have = set(MarketPrice.objects.filter(
        market_zone=zone, resolution_minutes=resolution_minutes, interval_start__range=(start, end),
    ).values_list("interval_start", flat=True))
    gaps, run_start, t = [], None, start
    while t <= end + step:
        missing = t <= end and t not in have
        if missing and run_start is None:
            run_start = t
        elif not missing and run_start is not None:
            gaps.append({"zone": zone, "resolution_minutes": resolution_minutes,
                         "start": run_start.isoformat(), "end": t.isoformat(),
                         "missing": int((t - run_start) / step)})
            run_start = None
        t += step
    return gaps


def tariff_save(*, actor, tariff: Tariff) -> Tariff:
    """Create or change a tariff of a community `actor` manages (validity must not overlap
    another tariff of the same scope: the community's, or one membership's)."""
    if tariff.pk:
        require_manageable(actor, Tariff.objects.get(pk=tariff.pk))
    from communities.models import Community

    if not Community.objects.managed_by(actor).filter(pk=tariff.community_id).exists():
        raise Forbidden(gettext("You do not manage this community."))
    try:
        tariff.full_clean()
    except ValidationError as exc:
        raise Invalid(gettext("This tariff breaks a rule."), details=exc.message_dict) from None
    try:
        with transaction.atomic():
            tariff.save()
    except IntegrityError:
        raise Conflict(gettext("Another tariff of the same scope overlaps these dates.")) from None
    return tariff
