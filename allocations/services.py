"""Writes of the allocations app: the two imports, each an all-or-nothing upsert.

`actor=None` is an operator at the command line (`manage.py allocation_keys_import`,
`manage.py eda_import`); any other actor must manage the community (outside its scope
404, visible but not manageable 403)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from allocations.importing import (
    MAX_ERRORS,
    FileErrors,
    line_error,
    parse_instant,
    parse_kwh,
    parse_share,
    read_rows,
)
from allocations.models import AllocationShare, EdaValue
from communities.models import Community, Direction, MeteringPoint, Regime
from core.exceptions import Invalid
from core.scoping import require_manageable

STEP_MINUTES = 15  # both regimes settle per quarter hour (DOMAIN.md)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    intervals: int = 0
    first: str = ""
    last: str = ""
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged over %(intervals)d "
                 "intervals") % self.__dict__

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _check_actor(actor, community: Community) -> None:
    if actor is not None:
        require_manageable(actor, community, message=_("You can see this community but not change it."))


def _refuse(messages: list[str]) -> Invalid:
    shown = messages[:MAX_ERRORS]
    more = len(messages) - len(shown)
    if more:
        shown.append(_("... and %(n)d more errors.") % {"n": more})
    return Invalid(_("The file has errors; nothing was imported. %(first)s") % {"first": shown[0]},
                   details={"file": shown})


def _points(community: Community) -> dict[str, MeteringPoint]:
    return {mp.code: mp for mp in MeteringPoint.objects.filter(membership__community=community)}


def _upsert(model, community: Community, wanted: dict[tuple, dict], key_fields: tuple[str, ...],
            value_fields: tuple[str, ...], source: str) -> ImportReport:
    """Create what is new, update what changed, count what is the same (idempotent)."""
    report = ImportReport()
    starts = [k[0] for k in wanted]
    existing = {
        tuple(getattr(row, f"{f}_id" if f in ("consumer", "producer", "metering_point") else f)
              for f in key_fields): row
        for row in model.objects.filter(community=community, interval_start__gte=min(starts),
                                        interval_start__lte=max(starts))
    }
    new, changed = [], []
    for key, values in wanted.items():
        row = existing.get(key)
        if row is None:
            fields = dict(zip(key_fields, key, strict=True))
            fields = {(f"{k}_id" if k in ("consumer", "producer", "metering_point") else k): v
                      for k, v in fields.items()}
            new.append(model(community=community, source=source, **fields, **values))
        elif any(getattr(row, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(row, f, v)
            row.source = source
            changed.append(row)
        else:
            report.unchanged += 1
    model.objects.bulk_create(new, batch_size=5000)
    if changed:
        model.objects.bulk_update(changed, [*value_fields, "source", "imported_at"], batch_size=5000)
    report.created, report.updated = len(new), len(changed)
    report.intervals = len(set(starts))
    report.first, report.last = min(starts).isoformat(), max(starts).isoformat()
    return report


SHARE_ALIASES = {"consumer_prm": "consumer", "producer_prm": "producer", "coefficient": "share",
                 "start": "interval_start"}


@transaction.atomic
def allocation_keys_import(*, actor, community: Community, data: bytes, filename: str = "") -> ImportReport:
    """Import France's simple dynamic shares (rows without a producer) and full dynamic
    coefficients (with one): CSV `interval_start,consumer,producer,share`, codes being the
    community's PRMs, times ISO 8601 with their offset on a 15-minute boundary, shares 0..1.
    The shares of one interval (simple) or of one producer in one interval (full) add up
    to at most 1, the stored ones included."""
    _check_actor(actor, community)
    if community.regime != Regime.FR_ACC:
        raise Invalid(_("Allocation keys are imported for French ACC communities only."),
                      details={"community": [_("The community's regime is %(regime)s.") % {
                          "regime": community.regime}]})
    try:
        rows = read_rows(data, required=("interval_start", "consumer", "share"), aliases=SHARE_ALIASES)
    except FileErrors as exc:
        raise _refuse(exc.messages) from None
    points, errors, wanted = _points(community), [], {}
    for number, row in rows:
        try:
            start = parse_instant(row["interval_start"], step_minutes=STEP_MINUTES)
        except ValueError as exc:
            errors.append(line_error(number, "interval_start", str(exc)))
            continue
        consumer, producer = points.get(row["consumer"].upper()), None
        if consumer is None or consumer.direction == Direction.INJECTION:
            msg = _("%(code)s is not a consuming metering point of this community")
            errors.append(line_error(number, "consumer", msg % {"code": row["consumer"]}))
            continue
        if row.get("producer"):
            producer = points.get(row["producer"].upper())
            if producer is None or producer.direction == Direction.WITHDRAWAL:
                msg = _("%(code)s is not an injecting metering point of this community")
                errors.append(line_error(number, "producer", msg % {"code": row["producer"]}))
                continue
        try:
            share = parse_share(row["share"])
        except ValueError as exc:
            errors.append(line_error(number, "share", str(exc)))
            continue
        key = (start, producer.pk if producer else None, consumer.pk)
        if key in wanted:
            errors.append(line_error(number, "consumer", _("this interval and pair appear twice")))
            continue
        wanted[key] = {"share": share}
    if errors:
        raise _refuse(errors)
    report = _upsert(AllocationShare, community, wanted, ("interval_start", "producer", "consumer"),
                     ("share",), filename[:200])
    over = _shares_over_one(community, {k[0] for k in wanted})
    if over:
        raise _refuse(over)  # leaving the atomic block by an exception undoes the upsert
    return report


def _shares_over_one(community: Community, starts: set) -> list[str]:
    """Intervals (and producers) whose stored shares now add up to more than 1."""
    qs = AllocationShare.objects.filter(community=community, interval_start__in=starts)
    out = []
    for row in (qs.values("interval_start", "producer__code").annotate(total=Sum("share"))
                .filter(total__gt=1).order_by("interval_start", "producer__code")):
        who = row["producer__code"] or _("all producers (simple dynamic)")
        out.append(_("%(start)s, %(who)s: the shares add up to %(total)s, more than 1") % {
            "start": row["interval_start"].isoformat(), "who": who, "total": row["total"]})
    return out


EDA_ALIASES = {"g.01": "g01", "g.02": "g02", "g.03": "g03", "p.01": "p01", "meter": "metering_point",
               "zaehlpunkt": "metering_point", "start": "interval_start"}
EDA_FIELDS = {"g01": "measured_kwh", "g02": "community_share_kwh", "g03": "self_coverage_kwh",
              "p01": "surplus_kwh"}


@transaction.atomic
def eda_import(*, actor, community: Community, data: bytes, filename: str = "") -> ImportReport:
    """Import the Austrian grid operator's allocation (EDA): CSV
    `metering_point,interval_start,G.01,G.02,G.03,P.01` (kWh per quarter hour; G.02, G.03
    and P.01 may be empty where the operator sends none for that meter)."""
    _check_actor(actor, community)
    if community.regime != Regime.AT_EEG:
        raise Invalid(_("EDA data are imported for Austrian EEG communities only."),
                      details={"community": [_("The community's regime is %(regime)s.") % {
                          "regime": community.regime}]})
    try:
        rows = read_rows(data, required=("metering_point", "interval_start", "g01"), aliases=EDA_ALIASES)
    except FileErrors as exc:
        raise _refuse(exc.messages) from None
    points, errors, wanted = _points(community), [], {}
    for number, row in rows:
        mp = points.get(row["metering_point"].upper())
        if mp is None:
            msg = _("%(code)s is not a metering point of this community")
            errors.append(line_error(number, "metering_point", msg % {"code": row["metering_point"]}))
            continue
        try:
            start = parse_instant(row["interval_start"], step_minutes=STEP_MINUTES)
        except ValueError as exc:
            errors.append(line_error(number, "interval_start", str(exc)))
            continue
        values, bad = {}, False
        for column, name in EDA_FIELDS.items():
            try:
                values[name] = parse_kwh(row.get(column, ""), optional=column != "g01")
            except ValueError as exc:
                errors.append(line_error(number, column.upper()[0] + "." + column[1:], str(exc)))
                bad = True
        if bad:
            continue
        if (start, mp.pk) in wanted:
            errors.append(line_error(number, "metering_point", _("this meter and interval appear twice")))
            continue
        wanted[(start, mp.pk)] = values
    if errors:
        raise _refuse(errors)
    return _upsert(EdaValue, community, wanted, ("interval_start", "metering_point"),
                   tuple(EDA_FIELDS.values()), filename[:200])

