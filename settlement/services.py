"""Writes of the settlement: draft a run, approve it, post it, record gap decisions.

A run is a pure function of its inputs (`settlement_inputs`): `inputs_hash` is the SHA-256
of their canonical serialisation, `result_hash` of the lines'. Drafting again with the same
inputs changes nothing (the open or posted run is returned); with other inputs, an open
run is superseded, and a posted one is *corrected*: the new run holds only the difference
with what the period's posted runs paid (meter corrections arrive for 60 months).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

import audit
from billing.ledger import (
    LegSpec,
    PostingSpec,
    account_community_fund,
    account_incentives_receivable,
    account_wallet,
    postings_create_bulk,
)
from billing.models import Account, AccountKind, EntryKind, PostingKind
from communities.models import Community, Membership, MeteringPoint
from core.exceptions import Conflict, Invalid, NotFound
from core.scoping import require_manageable
from settlement.models import (
    GapDecision,
    GapDecisionKind,
    GseYearlyStatement,
    RunKind,
    RunStatus,
    SettlementLine,
    SettlementPeriod,
    SettlementRun,
)
from settlement.regimes import REGIMES
from settlement.regimes.base import LineSpec, SettlementInputs
from settlement.regimes.it_cacer import RegimeInputError
from settlement.selectors import ESTIMATE_METHODS, period_bounds, settlement_inputs
from settlement.trueup import ITALIAN, true_up_hash, true_up_inputs, true_up_settle

# lines that move money: the members' and the fund's parts; their sum is the GSE advance
PAYABLE = ("producer_share", "consumer_share", "excess_share", "fund", "p2p_sale", "p2p_purchase")
SOURCE = "gse_advance"
TRUE_UP_SOURCE = "true_up"  # a true-up run's paid lines add up to its true_up line


# --- hashing ----------------------------------------------------------------------------


def _canon(obj):
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, float):
        return repr(obj)
    if isinstance(obj, dict):
        return {str(k): _canon(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [_canon(v) for v in obj]
    if isinstance(obj, np.ndarray):
        # an array among the regime's extras (Austria's (N, T) factors): by its bytes
        a = np.ascontiguousarray(obj, dtype=np.float64)
        return {"shape": list(a.shape), "sha256": hashlib.sha256(a.tobytes()).hexdigest()}
    return obj


def _jsonable(obj):
    """For the JSON columns: Decimal as text, numpy scalars as Python numbers, floats kept."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def inputs_hash(inputs: SettlementInputs) -> str:
    """SHA-256 of the inputs: arrays by their float64 bytes (NaN included), the rest as
    canonical JSON. Same meter data, prices, plants, statute and parameters -> same hash."""
    h = hashlib.sha256()
    for arr in (
        inputs.interval_starts.astype("datetime64[s]").astype(np.int64),
        inputs.withdrawal_kwh,
        inputs.injection_kwh,
        inputs.zonal_eur_per_mwh,
    ):
        a = np.ascontiguousarray(arr)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    meta = {
        "regime": inputs.regime,
        "minutes": inputs.interval_minutes,
        "points": [asdict(p) for p in inputs.points],
        "plants": [asdict(p) for p in inputs.plants],
        "statute": asdict(inputs.statute),
        "params": inputs.params,
        "version": inputs.params_version,
        "substation": inputs.community_substation,
        "zone": inputs.community_market_zone,
        "closes_year": inputs.closes_year,
        "ytd": inputs.year_to_date,
        "extra": inputs.extra,
    }
    if inputs.statute_segments:
        # the statute per interval (issue 10): which configuration, from which interval on;
        # absent in the single-statute case so earlier runs keep their hash
        meta["statute_segments"] = [asdict(s) for s in inputs.statute_segments]
    if inputs.param_segments:
        # every parameter version the month used, with its figures and intervals (issue 10);
        # absent with one version over the month, as for the statute
        meta["param_segments"] = [asdict(s) for s in inputs.param_segments]
    h.update(json.dumps(_canon(meta), sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def _energy(value) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.0001"))


def result_hash(lines: list[LineSpec]) -> str:
    """SHA-256 of the printed lines in order (what is paid, to whom, by which rule)."""
    rows = [
        [
            ln.kind,
            ln.membership_id,
            ln.plant_id,
            ln.user_id,
            ln.rule,
            str(_energy(ln.energy_kwh)),
            str(ln.amount),
        ]
        for ln in lines
    ]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


# --- drafting ---------------------------------------------------------------------------


def _check_month(community: Community, month: date) -> date:
    if month.day != 1:
        raise Invalid(gettext("A settlement month starts on its first day."), details={"month": ["YYYY-MM"]})
    _, end = period_bounds(community, month)
    if end > timezone.now():
        raise Invalid(gettext("This month is not over yet."), details={"month": ["Not over yet."]})
    return month


def _key(line) -> tuple:
    return (line.kind, line.membership_id, line.plant_id, line.user_id)


def _difference(lines: list[LineSpec], posted: list[SettlementLine], corrected_run_id: int) -> list[LineSpec]:
    """What the period's posted runs did not pay yet (or paid too much), per line key."""
    before: dict[tuple, list] = {}
    for line in posted:
        acc = before.setdefault(_key(line), [Decimal(0), Decimal(0), line.rule])
        acc[0] += line.amount
        acc[1] += line.energy_kwh
    # several lines may share a key (the excess premium's two sets): compare sums
    now: dict[tuple, list] = {}
    for line in lines:
        acc = now.setdefault(_key(line), [Decimal(0), Decimal(0), line.rule])
        acc[0] += line.amount
        acc[1] += _energy(line.energy_kwh)
    out = []
    for key in list(now) + [k for k in before if k not in now]:
        new_amount, new_energy, new_rule = now.get(key, (Decimal(0), Decimal(0), ""))
        old_amount, old_energy, old_rule = before.get(key, (Decimal(0), Decimal(0), ""))
        amount, energy = new_amount - old_amount, new_energy - old_energy
        if amount == 0 and energy == 0:
            continue
        detail = {
            "corrects_run": corrected_run_id,
            "previous_eur": str(old_amount),
            "recomputed_eur": str(new_amount),
        }
        out.append(
            LineSpec(
                key[1], key[2], key[0], new_rule or old_rule, float(energy), amount, detail, user_id=key[3]
            )
        )
    return out


def _lines_of(run: SettlementRun, specs: list[LineSpec]) -> list[SettlementLine]:
    return [
        SettlementLine(
            run=run,
            membership_id=s.membership_id,
            plant_id=s.plant_id,
            user_id=s.user_id,
            kind=s.kind,
            rule=s.rule,
            energy_kwh=_energy(s.energy_kwh),
            amount=s.amount,
            detail=_jsonable(s.detail),
            position=i,
        )
        for i, s in enumerate(specs)
    ]


def settlement_draft(*, actor, community: Community, month: date) -> SettlementRun:
    """Draft the run of `community`'s `month` (see the module docstring). `actor` None is
    the system (beat); otherwise the actor must manage the community. The returned run has
    `created` False when nothing changed since the open or the last posted run."""
    if actor is not None:
        require_manageable(actor, community, message=gettext("Only the community's referents settle it."))
    _check_month(community, month)
    regime = REGIMES.get(community.regime)
    if regime is None:
        raise Invalid(
            gettext("No settlement rules for this community's regime yet."),
            details={"regime": [community.regime]},
        )
    with transaction.atomic():
        period, _ = SettlementPeriod.objects.get_or_create(community=community, month=month)
        period = SettlementPeriod.objects.select_for_update().get(pk=period.pk)
        gathered = settlement_inputs(community=community, month=month)
        ihash = inputs_hash(gathered.inputs)
        numbered = list(period.runs.order_by("-number"))
        # December's yearly true-up shares the period (and its numbering), not the month's runs
        runs = [r for r in numbered if r.kind != RunKind.TRUE_UP]
        posted = [r for r in runs if r.status == RunStatus.POSTED]
        open_run = next((r for r in runs if r.status in (RunStatus.DRAFT, RunStatus.APPROVED)), None)
        for same in (open_run, posted[0] if posted else None):
            if same is not None and same.inputs_hash == ihash and not same.error:
                same.created = False
                return same
        error, specs, totals = "", [], {}
        try:
            result = regime(gathered.inputs)
            specs, totals = result.lines, result.totals
        except RegimeInputError as exc:
            error = str(exc)
        if open_run is not None:
            open_run.status = RunStatus.SUPERSEDED
            open_run.save(update_fields=["status"])
        kind = RunKind.REGULAR
        if posted and not error:
            kind = RunKind.CORRECTION
            done = list(SettlementLine.objects.filter(run__in=posted))
            specs = _difference(specs, done, posted[0].id)
        run = SettlementRun.objects.create(
            period=period,
            number=(numbered[0].number + 1) if numbered else 1,
            kind=kind,
            regime=community.regime,
            corrects=posted[0] if kind == RunKind.CORRECTION else None,
            inputs_hash=ihash,
            result_hash=result_hash(specs),
            data_quality=gathered.data_quality,
            totals=_jsonable(totals),
            error=error,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        SettlementLine.objects.bulk_create(_lines_of(run, specs), batch_size=2000)
        _tell_referents(run, community)
    run.created = True
    return run


def _tell_referents(run: SettlementRun, community: Community) -> None:
    """Each referent is told once per run that it awaits their decision (or failed), in
    their own language, in the draft's transaction (nothing leaves before the commit)."""
    from django.urls import reverse
    from django.utils import translation

    from core.i18n import language_of
    from notifications.services import notify

    month = f"{run.period.month:%m/%Y}"
    for referent in community.referents.filter(is_active=True):
        with translation.override(language_of(referent)):
            if run.error:
                title = gettext("%(community)s: the settlement of %(month)s failed") % {
                    "community": community.name, "month": month}
                body = gettext("Run %(number)s could not be computed: %(error)s") % {
                    "number": run.number, "error": run.error}
            else:
                title = gettext("%(community)s: the settlement of %(month)s awaits your approval") % {
                    "community": community.name, "month": month}
                blocking = len(run.data_quality.get("blocking") or [])
                body = gettext("Run %(number)s is drafted; %(gaps)s data-quality issue(s) to decide "
                               "before approving.") % {"number": run.number, "gaps": blocking}
            notify(user=referent, kind="settlement_approval", title=title, body=body,
                   url=reverse("admin:settlement_settlementrun_change", args=[run.pk]),
                   data={"run": run.pk, "community": community.pk}, dedup_key=f"settlement-run:{run.pk}")


# --- approval and posting ---------------------------------------------------------------


def _lock(run: SettlementRun, actor) -> SettlementRun:
    if actor is not None:
        require_manageable(
            actor, run, message=gettext("Only the community's referents approve and post runs.")
        )
    return SettlementRun.objects.select_for_update().select_related("period__community").get(pk=run.pk)


def settlement_approve(*, actor, run: SettlementRun) -> SettlementRun:
    """Draft -> approved, by a referent (or admin). Refused while the data-quality report
    has undecided gaps, when the run failed, or when the inputs changed since the draft."""
    with transaction.atomic():
        run = _lock(run, actor)
        if run.status != RunStatus.DRAFT:
            raise Conflict(gettext("Only a draft run can be approved."), details={"status": [run.status]})
        if run.error:
            raise Conflict(
                gettext("This run failed: fix its inputs and draft it again."), details={"error": [run.error]}
            )
        blocking = run.data_quality.get("blocking") or []
        if blocking:
            raise Conflict(
                gettext("Decide every data-quality issue before approving."),
                details={"data_quality": blocking},
                error="DataQuality",
            )
        community, month = run.period.community, run.period.month
        if run.kind == RunKind.TRUE_UP:
            current = true_up_hash(true_up_inputs(community=community, year=month.year).inputs)
        else:
            current = inputs_hash(settlement_inputs(community=community, month=month).inputs)
        if current != run.inputs_hash:
            raise Conflict(
                gettext("The inputs changed since this draft: draft the run again."), error="InputsChanged"
            )
        run.status, run.approved_by, run.approved_at = RunStatus.APPROVED, actor, timezone.now()
        run.save(update_fields=["status", "approved_by", "approved_at"])
        audit.record(actor=actor, action="settlement.approve", obj=run,
                     detail={"community": run.period.community_id, "month": f"{run.period.month:%Y-%m}",
                             "result_hash": run.result_hash})
    return run


def _account_for(line: SettlementLine, community: Community, users: dict, people: dict, wallets: dict):
    if line.kind == "fund" or (line.membership_id is None and line.user_id is None):
        return account_community_fund(community=community)
    user_id = line.user_id or users.get(line.membership_id)
    if user_id is None:
        raise Conflict(gettext("A paid line has nobody to pay."), details={"line": [line.pk]})
    return wallets[user_id]


def _spec(line: SettlementLine, account, receivable, *, run, community, reason: str) -> PostingSpec:
    """The posting of one paid line. A credit: the wallet (or fund) against GSE's receivable.
    A debit (GSE recovers, e.g. a negative true-up) from a member wallet never takes the
    wallet below its holds (DOMAIN.md: no wallet goes negative): the wallet gives what is
    available when the posting is made (a capped debit), the rest is booked on the member's
    receivable of this community (what they owe it, traced to this line), so the posting
    still balances and GSE's receivable is reduced by the whole share. The fund has no such
    floor: the community's own account carries its share in full."""
    credit = EntryKind.SETTLEMENT_CREDIT
    key = f"settlement:{run.pk}:{line.pk}"
    common = {"idempotency_key": key, "kind": PostingKind.SETTLEMENT, "reason": reason,
              "community": community}
    if line.amount > 0 or account.kind != AccountKind.MEMBER_WALLET:
        legs = [LegSpec(account=account, amount=line.amount, kind=credit),
                LegSpec(account=receivable, amount=-line.amount, kind=credit)]
        return PostingSpec(legs=legs, **common)
    return PostingSpec(
        legs=[LegSpec(account=receivable, amount=-line.amount, kind=credit)],
        cap=LegSpec(account=account, amount=line.amount, kind=credit),
        trace={"settlement_run_id": run.pk, "settlement_line_id": line.pk},
        **common,
    )


def settlement_post(*, actor, run: SettlementRun) -> SettlementRun:
    """Approved -> posted: one ledger posting per paid line (idempotency key
    `settlement:<run>:<line>`), the GSE's receivable against the member's wallet or the
    community fund (a debit beyond a wallet's available balance: see `_spec`; the run's
    `totals["receivables"]` lists them), all in one bulk write (`postings_create_bulk`),
    members' credits collecting what they owe. All or nothing; posting twice posts nothing
    twice."""
    with transaction.atomic():
        run = _lock(run, actor)
        if run.status == RunStatus.POSTED:
            run.created = False
            return run
        if run.status != RunStatus.APPROVED:
            raise Conflict(gettext("Only an approved run can be posted."), details={"status": [run.status]})
        community = run.period.community
        lines = list(run.lines.all())
        # credits first: a member's positive line of the run covers their negative one
        paid = [ln for ln in lines if ln.kind in PAYABLE and ln.amount != 0]
        paid.sort(key=lambda ln: ln.amount < 0)
        source_kind = TRUE_UP_SOURCE if run.kind == RunKind.TRUE_UP else SOURCE
        source = sum((ln.amount for ln in lines if ln.kind == source_kind), Decimal(0))
        if sum((ln.amount for ln in paid), Decimal(0)) != source:
            raise Conflict(gettext("The paid lines do not add up to the GSE advance."))
        receivable = account_incentives_receivable(community=community)
        users = dict(
            Membership.objects.filter(pk__in={ln.membership_id for ln in paid}).values_list("pk", "user_id")
        )
        people = get_user_model().objects.in_bulk(
            set(users.values()) | {ln.user_id for ln in paid if ln.user_id}
        )
        wallets = _wallets(people.values(), community.currency)
        month = f"{run.period.month:%Y-%m}"
        specs = []
        for line in paid:
            account = _account_for(line, community, users, people, wallets)
            specs.append(_spec(line, account, receivable, run=run, community=community,
                               reason=f"{community.slug} {month} run {run.number}: {line.kind}"))
        postings = postings_create_bulk(specs=specs, actor=actor)
        receivables = [
            {"line": line.pk, "membership": line.membership_id, "user": spec.cap.account.user_id,
             "owed_eur": str(-line.amount), "debited_eur": str(posting.debited),
             "receivable_eur": str(posting.shortfall), "receivable": posting.receivable.pk}
            for line, spec, posting in zip(paid, specs, postings, strict=True)
            if getattr(posting, "shortfall", None)
        ]
        fields = ["status", "posted_by", "posted_at"]
        if receivables:
            run.totals = {**(run.totals or {}), "receivables": receivables}
            fields.append("totals")
        run.status, run.posted_by, run.posted_at = RunStatus.POSTED, actor, timezone.now()
        run.save(update_fields=fields)
        audit.record(actor=actor, action="settlement.post", obj=run,
                     detail={"community": community.pk, "month": month, "postings": len(paid),
                             "amount": str(source), "result_hash": run.result_hash,
                             "receivables": len(receivables)})
        from statements.services import statements_issue  # members' statements, emailed after commit

        statements_issue(run=run)
    run.created = True
    return run


def _wallets(people, currency: str) -> dict[int, Account]:
    """The members' wallets of a run, read (and created where missing) at once."""
    found = {a.user_id: a for a in Account.objects.filter(
        kind=AccountKind.MEMBER_WALLET, user__in=list(people), currency=currency)}
    for person in people:
        if person.pk not in found:
            found[person.pk] = account_wallet(user=person, currency=currency)
        found[person.pk].user = person
    return found


# --- the yearly true-up -----------------------------------------------------------------


def settlement_true_up_draft(*, actor, community: Community, year: int) -> SettlementRun:
    """Draft the yearly true-up of `community`'s `year` (settlement.trueup): a run of kind
    `true_up` in December's period, approved and posted like the others. Needs GSE's yearly
    statement (`Conflict` NoGseStatement). Same inputs: the open or posted true-up comes back
    (`created` False); other inputs (a new statement, a later correction of a month): the
    open one is superseded, a posted one corrected by a run holding only the differences."""
    if actor is not None:
        require_manageable(actor, community, message=gettext("Only the community's referents settle it."))
    if community.regime not in ITALIAN:
        raise Invalid(gettext("The yearly true-up is GSE's: Italian communities only."),
                      details={"regime": [community.regime]})
    december = date(year, 12, 1)
    if period_bounds(community, december)[1] > timezone.now():
        raise Invalid(gettext("This year is not over yet."), details={"year": ["Not over yet."]})
    if not GseYearlyStatement.objects.filter(community=community, year=year).exists():
        raise Conflict(gettext("Import GSE's yearly statement of this year first."),
                       details={"year": [year]}, error="NoGseStatement")
    with transaction.atomic():
        period, _ = SettlementPeriod.objects.get_or_create(community=community, month=december)
        period = SettlementPeriod.objects.select_for_update().get(pk=period.pk)
        gathered = true_up_inputs(community=community, year=year)
        ihash = true_up_hash(gathered.inputs)
        numbered = list(period.runs.order_by("-number"))
        runs = [r for r in numbered if r.kind == RunKind.TRUE_UP]
        posted = [r for r in runs if r.status == RunStatus.POSTED]
        open_run = next((r for r in runs if r.status in (RunStatus.DRAFT, RunStatus.APPROVED)), None)
        for same in (open_run, posted[0] if posted else None):
            if same is not None and same.inputs_hash == ihash:
                same.created = False
                return same
        specs, totals = true_up_settle(gathered.inputs)
        if open_run is not None:
            open_run.status = RunStatus.SUPERSEDED
            open_run.save(update_fields=["status"])
        if posted:
            done = list(SettlementLine.objects.filter(run__in=posted))
            specs = _difference(specs, done, posted[0].id)
        run = SettlementRun.objects.create(
            period=period,
            number=(numbered[0].number + 1) if numbered else 1,
            kind=RunKind.TRUE_UP,
            regime=community.regime,
            corrects=posted[0] if posted else None,
            inputs_hash=ihash,
            result_hash=result_hash(specs),
            data_quality=gathered.data_quality,
            totals=_jsonable(totals),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        SettlementLine.objects.bulk_create(_lines_of(run, specs), batch_size=2000)
        _tell_referents(run, community)
    run.created = True
    return run


# --- gap decisions ----------------------------------------------------------------------


def gap_decide(
    *, actor, community: Community, month: date, metering_point_id: int, decision: str, method: str = ""
) -> GapDecision:
    """The referent's decision on one metering point's missing intervals in a month:
    `estimate` (with a named method), `exclude` (count them as nothing exchanged) or
    `wait` (keep the run blocked). Draft the run again to apply it."""
    if actor is not None:
        require_manageable(actor, community, message=gettext("Only the community's referents decide gaps."))
    if decision not in GapDecisionKind.values:
        raise Invalid(gettext("Unknown decision."), details={"decision": list(GapDecisionKind.values)})
    if decision == GapDecisionKind.ESTIMATE and method not in ESTIMATE_METHODS:
        raise Invalid(gettext("Name an estimation method."), details={"method": list(ESTIMATE_METHODS)})
    if not MeteringPoint.objects.filter(pk=metering_point_id, membership__community=community).exists():
        raise NotFound()
    _check_month(community, month)
    with transaction.atomic():
        period, _ = SettlementPeriod.objects.get_or_create(community=community, month=month)
        row, _ = GapDecision.objects.update_or_create(
            period=period,
            metering_point_id=metering_point_id,
            defaults={
                "decision": decision,
                "method": method if decision == "estimate" else "",
                "decided_by": actor if getattr(actor, "pk", None) else None,
            },
        )
    return row


def settlement_draft_all(*, month: date) -> dict:
    """Draft `month`'s run of every active community (the beat task): failures are
    reported per community, never stop the others."""
    out = {}
    for community in Community.objects.filter(status="active").order_by("id"):
        if community.regime not in REGIMES:
            out[community.slug] = "no rules"
            continue
        try:
            run = settlement_draft(actor=None, community=community, month=month)
            out[community.slug] = f"run {run.pk} {'created' if run.created else 'unchanged'}"
        except (Invalid, Conflict) as exc:
            out[community.slug] = f"error: {exc.message}"
    return out
