"""Writes: a posted run's statements (`statements_issue`) and their email outbox rows.

`statements_issue(*, run)` is the hook the settlement's post step calls (in its
transaction): one `Statement` per recipient of the run's member lines, each with its email
row; the emails leave after the commit (`statements.outbox`). Idempotent: issuing a run
twice creates nothing new.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext

from core.exceptions import Conflict
from statements.models import Statement, StatementEmail, StatementKind

logger = logging.getLogger("commonwatt.statements")
ENERGY_KEYS = ("withdrawn_kwh", "injected_kwh", "shared_kwh", "allocated_kwh")
KWH = Decimal("0.001")
# the engine's per-member sums, when it reports them (run.totals["members"][<membership id>])
_MEMBER_TOTAL_KEYS = {
    "withdrawn_kwh": ("withdrawn_kwh", "withdrawal_kwh"),
    "injected_kwh": ("injected_kwh", "injection_kwh"),
    "shared_kwh": ("shared_kwh",),
    "allocated_kwh": ("allocated_kwh",),
}


def content_hash(data: dict) -> str:
    """SHA-256 of the canonical JSON of a statement's data (sorted keys, no spaces)."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def _kwh(value) -> str | None:
    return None if value is None else str(Decimal(repr(float(value))).quantize(KWH))


def _plant_energy(lines) -> dict[int, dict]:
    """Per plant: injected and shared kWh as the regime reported them on its plant lines."""
    out: dict[int, dict] = {}
    for line in lines:
        if line.plant_id and line.membership_id is None and line.user_id is None:
            d = line.detail or {}
            if "injected_kwh" in d or "shared_kwh" in d:
                out.setdefault(line.plant_id, d)
    return out


def _metered(run) -> dict[int, dict]:
    """Withdrawn and injected kWh per membership over the run's period, from the run's own
    inputs: gathered again and used only if their hash is the run's `inputs_hash` (so the
    figures are the ones the run settled); {} otherwise (the statement then prints `-`)."""
    import numpy as np

    from settlement.selectors import settlement_inputs
    from settlement.services import inputs_hash

    if not run.inputs_hash:
        return {}
    try:
        gathered = settlement_inputs(community=run.period.community, month=run.period.month)
    except Exception:  # inputs no longer gatherable: print what the lines say
        logger.warning("statement energy: inputs not gathered", extra={"run": run.pk})
        return {}
    inputs = gathered.inputs
    if inputs_hash(inputs) != run.inputs_hash:
        return {}
    out: dict[int, dict] = {}
    withdrawn = np.nansum(inputs.withdrawal_kwh, axis=1) if inputs.n_intervals else []
    injected = np.nansum(inputs.injection_kwh, axis=1) if inputs.n_intervals else []
    for i, point in enumerate(inputs.points):
        row = out.setdefault(point.membership_id, {"withdrawn_kwh": 0.0, "injected_kwh": 0.0})
        row["withdrawn_kwh"] += float(withdrawn[i])
        row["injected_kwh"] += float(injected[i])
    return out


def _member_energy(run, membership, user_id, plants_of_user, plant_energy, metered_by_membership) -> dict:
    """The member's energy of the run. The engine's own per-member sums win
    (`run.totals["members"]`); otherwise: withdrawn and injected = their metering points'
    sums in the run's inputs (`_metered`), allocated = the shared energy the consumer split
    weighted them by (`totals["consumers"]`), shared = their plants' shared energy."""
    totals = run.totals or {}
    reported = (totals.get("members") or {}).get(str(membership.pk)) if membership else None
    if reported:
        return {
            key: _kwh(next((reported[k] for k in names if k in reported), None))
            for key, names in _MEMBER_TOTAL_KEYS.items()
        }
    own = [plant_energy[p] for p in plants_of_user.get(user_id, ()) if p in plant_energy]
    allocated = (totals.get("consumers") or {}).get(str(membership.pk)) if membership else None
    metered = metered_by_membership.get(membership.pk) if membership else None
    injected = sum(float(d.get("injected_kwh", 0)) for d in own) if own else None
    return {
        "withdrawn_kwh": _kwh(metered["withdrawn_kwh"]) if metered else None,
        "injected_kwh": _kwh(metered["injected_kwh"] if metered else injected) if metered or own else None,
        "shared_kwh": _kwh(sum(float(d.get("shared_kwh", 0)) for d in own)) if own else None,
        "allocated_kwh": _kwh(allocated) if allocated is not None else None,
    }


def statement_data(*, run, user, membership, lines, energy, plant_names, corrects) -> dict:
    """The statement as printed: every line with its rule, the totals per kind and overall
    (sums of the printed, already rounded lines: the statement adds up on paper)."""
    period = run.period
    community = period.community
    by_kind: dict[str, Decimal] = defaultdict(Decimal)
    printed = []
    for line in lines:
        by_kind[line.kind] += line.amount
        printed.append({
            "line_id": line.pk,
            "kind": line.kind,
            "rule": line.rule,
            "plant": plant_names.get(line.plant_id) if line.plant_id else None,
            "energy_kwh": str(line.energy_kwh),
            "amount_eur": str(line.amount),
        })
    total = sum(by_kind.values(), Decimal("0.00"))
    return {
        "version": 1,
        "number": f"C{community.pk}-{period.month:%Y-%m}-R{run.number}-U{user.pk}",
        "kind": StatementKind.CORRECTION if run.corrects_id else StatementKind.REGULAR,
        "corrects": corrects,
        "community": {"id": community.pk, "name": community.name, "currency": community.currency},
        "member": {
            "user_id": user.pk,
            "name": user.full_name or user.email,
            "membership_id": membership.pk if membership else None,
            "member_type": membership.member_type if membership else "investor",
        },
        "period": {"month": period.month.isoformat(), "time_zone": community.time_zone},
        "run": {"id": run.pk, "number": run.number, "kind": run.kind, "regime": run.regime,
                "result_hash": run.result_hash},
        "energy": energy,
        "lines": printed,
        "totals": {"by_kind": {k: str(v) for k, v in sorted(by_kind.items())}, "amount_eur": str(total)},
    }


@transaction.atomic
def statements_issue(*, run) -> list[Statement]:
    """The statements of a posted run, one per recipient of its member lines (a membership's
    user, or a plant investor's user); creates only those missing, queues their emails."""
    from communities.models import Membership
    from plants.models import Plant
    from settlement.models import RunStatus

    if run.status != RunStatus.POSTED:
        raise Conflict(gettext("Only a posted run has statements."), error="RunNotPosted")
    period = run.period
    community = period.community
    lines = list(run.lines.all().order_by("position", "id"))
    memberships = {m.pk: m for m in Membership.objects.filter(community=community).select_related("user")}
    groups: dict[int, list] = defaultdict(list)
    for line in lines:
        if line.user_id:
            groups[line.user_id].append(line)
        elif line.membership_id:
            groups[memberships[line.membership_id].user_id].append(line)
    # every member of the month gets a statement, lines or not; a correction only the changed
    if not run.corrects_id:
        for m in memberships.values():
            if m.joined_at < _next_month(period.month) and (m.left_at is None or m.left_at >= period.month):
                groups.setdefault(m.user_id, [])
    existing = set(Statement.objects.filter(run=run).values_list("user_id", flat=True))
    plant_ids = {line.plant_id for line in lines if line.plant_id}
    plants = list(Plant.objects.filter(pk__in=plant_ids).values_list("pk", "name", "owner_id"))
    plant_names = {pk: name for pk, name, _ in plants}
    plants_of_user: dict[int, list] = defaultdict(list)
    for pk, _, owner in plants:
        plants_of_user[owner].append(pk)
    plant_energy = _plant_energy(lines)
    if set(groups) <= existing:
        return []
    metered = {} if (run.totals or {}).get("members") else _metered(run)
    # a user's current membership wins over a past one (sorted last, so it overrides)
    by_user = {m.user_id: m for m in sorted(memberships.values(), key=lambda m: m.left_at is None)}
    previous = {}
    if run.corrects_id:
        previous = dict(Statement.objects.filter(run_id=run.corrects_id).values_list("user_id", "number"))
    created = []
    for user_id, own_lines in sorted(groups.items()):
        if user_id in existing:
            continue
        membership = next((memberships[x.membership_id] for x in own_lines if x.membership_id), None)
        membership = membership or by_user.get(user_id)
        user = membership.user if membership and membership.user_id == user_id else _user(user_id)
        energy = _member_energy(run, membership, user_id, plants_of_user, plant_energy, metered)
        data = statement_data(run=run, user=user, membership=membership, lines=own_lines,
                              energy=energy, plant_names=plant_names, corrects=previous.get(user_id))
        created.append(Statement(
            run=run, community=community, month=period.month, membership=membership, user=user,
            kind=data["kind"], number=data["number"], total_eur=Decimal(data["totals"]["amount_eur"]),
            data=data, content_hash=content_hash(data),
        ))
    Statement.objects.bulk_create(created, batch_size=500)
    StatementEmail.objects.bulk_create([
        StatementEmail(statement=s, email=s.user.email,
                       message_id=f"<statement-{s.number.lower()}-{s.content_hash[:16]}@commonwatt>")
        for s in created if s.user.email
    ], batch_size=500)
    if created:
        ids = [s.pk for s in created]
        transaction.on_commit(lambda: _dispatch(ids))
        _notify_ready(created)
    return created


def _notify_ready(statements: list[Statement]) -> None:
    """Each recipient's notification centre: "your statement of <month> is ready" (in their
    language, once per statement), committed with the statements."""
    from django.urls import reverse
    from django.utils import translation

    from core.i18n import language_of
    from notifications.services import notify

    for s in statements:
        with translation.override(language_of(s.user)):
            notify(
                user=s.user, kind="statement_ready",
                title=gettext("Your statement of %(month)s is ready") % {"month": f"{s.month:%m/%Y}"},
                body=gettext("%(community)s: total %(total)s %(currency)s.") % {
                    "community": s.community.name, "total": s.total_eur, "currency": s.community.currency},
                url=reverse("statements:detail", args=[s.pk]), data={"statement": s.pk},
                dedup_key=f"statement:{s.pk}",
            )


def _next_month(month):
    if month.month == 12:
        return month.replace(year=month.year + 1, month=1)
    return month.replace(month=month.month + 1)


def _user(user_id: int):
    from accounts.models import User

    return User.objects.get(pk=user_id)


def _dispatch(statement_ids: list[int]) -> None:
    from statements.outbox import dispatch

    dispatch(statement_ids)
