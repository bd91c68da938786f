"""Writes of the communities app: one function per business action.

Services check business rules (eligibility, history, one active configuration) and raise
domain errors (`core.exceptions`: `Invalid` naming the field, `Conflict`, `Forbidden`,
`NotFound`) when one is broken; nothing is half-written. The API, the portal and the back
office each map them to their own answer. Who may call them is decided by the caller from
`core.scoping.get_manageable` / `require_manageable` (the one 404/403 rule).
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Point
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

import audit
from accounts.models import Role
from communities.eligibility import metering_point_problems, substation_at
from communities.models import (
    POD_PATTERNS,
    AllocationKey,
    Community,
    Configuration,
    ConfigurationStatus,
    EnergyTransaction,
    InvitationStatus,
    Membership,
    MembershipInvitation,
    MembershipStatus,
    MeteringPoint,
    ParticipationFactor,
    Regime,
    RegimeParameters,
    TransactionStatus,
)
from communities.quarter_hours import local_iso, local_midnight, quarter_hour_start
from communities.selectors import community_outside_report, regime_parameters_at
from core.exceptions import Conflict, Invalid, NotFound

logger = logging.getLogger("commonwatt.communities")

COMMUNITY_FIELDS = {"name", "slug", "regime", "boundary", "primary_substation", "market_zone",
                    "time_zone", "currency", "status", "public_body_single_epci", "eeg_scope"}


def _invalid(message: str, details: dict) -> Invalid:
    return Invalid(message, details=details)


def _constraint(exc: IntegrityError) -> str:
    """The name of the database constraint an IntegrityError broke ("" when unknown)."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or ""


_SLUG_TAKEN = {"slug": ["A community with this slug already exists."]}


def _unique_slug(name: str, *, exclude_pk=None) -> str:
    base = slugify(name)[:40] or "community"
    slug, n = base, 1
    while Community.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def community_create(
    *, name: str, organization, regime: str = "it_cer", slug: str = "",
    boundary: MultiPolygon | None = None, primary_substation: str = "", market_zone: str = "NORD",
    time_zone: str = "Europe/Rome", currency: str = "EUR", status: str = "draft", referents=(),
) -> Community:
    """A new community. The slug's uniqueness is the database's (a concurrent create of the
    same slug is a 400, never a 500); a generated slug moves to the next free suffix."""
    if slug and Community.objects.filter(slug=slug).exists():
        raise _invalid("This slug is taken.", _SLUG_TAKEN)
    fields = {
        "name": name, "organization": organization, "regime": regime,
        "boundary": boundary, "primary_substation": primary_substation.strip().upper(),
        "market_zone": market_zone, "time_zone": time_zone, "currency": currency, "status": status,
    }
    for _attempt in range(5):
        candidate = slug or _unique_slug(name)
        try:
            with transaction.atomic():
                community = Community.objects.create(slug=candidate, **fields)
            break
        except IntegrityError as exc:
            if "slug" not in _constraint(exc):
                raise
            if slug:
                raise _invalid("This slug is taken.", _SLUG_TAKEN) from None
    else:
        raise Conflict(gettext("Could not find a free slug; try again or give one."), details=_SLUG_TAKEN)
    if referents:
        community.referents.set(referents)
    return community


@dataclass
class CommunityUpdate:
    community: Community
    #: members' metering points and plants that no longer fit (see community_outside_report)
    outside: dict = field(default_factory=dict)


@transaction.atomic
def community_update(*, community: Community, referents=None, **changes) -> CommunityUpdate:
    """Change a community. A new boundary or substation re-checks the current members'
    metering points and the plants: those now outside are reported, never dropped."""
    unknown = set(changes) - COMMUNITY_FIELDS
    if unknown:
        raise TypeError(f"community_update() got unexpected fields {sorted(unknown)}")
    if "slug" in changes and Community.objects.filter(slug=changes["slug"]).exclude(pk=community.pk).exists():
        raise _invalid("This slug is taken.", _SLUG_TAKEN)
    if "primary_substation" in changes:
        changes["primary_substation"] = (changes["primary_substation"] or "").strip().upper()
    geo_changed = any(
        k in changes and changes[k] != getattr(community, k) for k in ("boundary", "primary_substation")
    )
    for name, value in changes.items():
        setattr(community, name, value)
    try:
        with transaction.atomic():
            community.save()
    except IntegrityError as exc:
        if "slug" not in _constraint(exc):
            raise
        raise _invalid("This slug is taken.", _SLUG_TAKEN) from None
    if referents is not None:
        community.referents.set(referents)
    outside = community_outside_report(community=community) if geo_changed else {
        "metering_points": [], "plants": []
    }
    if outside["metering_points"] or outside["plants"]:
        logger.warning(
            "community %s: %d metering points and %d plants are now outside its boundary or substation",
            community.pk, len(outside["metering_points"]), len(outside["plants"]),
        )
    return CommunityUpdate(community=community, outside=outside)


def _check_pod_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not any(p.match(code) for p in POD_PATTERNS.values()):
        raise _invalid(
            "Not a valid metering point code.",
            {"code": ["Not a valid metering point code (Italian POD like IT001E12345678, French PRM "
                      "of 14 digits, or Austrian AT + 31 characters)."]},
        )
    if MeteringPoint.objects.filter(code=code).exists():
        raise _invalid("This metering point is already registered.", _POD_TAKEN)
    return code


_POD_TAKEN = {"code": ["A metering point with this code is already registered."]}


def _metering_point_fields(community: Community, *, location, primary_substation, market_zone,
                           municipality_class=""):
    substation = (primary_substation or "").strip().upper() or substation_at(location)
    problems = metering_point_problems(
        community, location=location, primary_substation=substation, market_zone=market_zone or None,
        municipality_class=municipality_class,
    )
    return substation or community.primary_substation, market_zone or community.market_zone, problems


@transaction.atomic
def metering_point_create(
    *, membership: Membership, code: str, location: Point | None = None, primary_substation: str = "",
    market_zone: str = "", direction: str = "withdrawal", meter_serial: str = "",
    is_smart_meter: bool = True, municipality_class: str = "",
) -> MeteringPoint:
    """Register a POD for a current membership. It must be eligible: inside the boundary,
    under the community's primary substation (inferred from imported substation areas when
    not given) and in its market zone; in a French ACC, within the perimeter."""
    if not membership.is_current:
        raise _invalid("This membership has ended.", {"membership": ["This membership has ended."]})
    code = _check_pod_code(code)
    community = membership.community
    substation, zone, problems = _metering_point_fields(
        community, location=location, primary_substation=primary_substation, market_zone=market_zone,
        municipality_class=municipality_class,
    )
    if problems:
        first = next(iter(problems.values()))[0]
        raise _invalid(f"This metering point cannot join: {first}", problems)
    try:
        # the check above is for a friendly message; the unique index decides under races
        with transaction.atomic():
            return MeteringPoint.objects.create(
                membership=membership, code=code, location=location, primary_substation=substation,
                market_zone=zone, direction=direction, meter_serial=meter_serial,
                is_smart_meter=is_smart_meter, municipality_class=municipality_class,
            )
    except IntegrityError as exc:
        if "code" not in _constraint(exc):
            raise
        raise _invalid("This metering point is already registered.", _POD_TAKEN) from None


_ALREADY_MEMBER = {"user": ["This user is already a current member."]}


def membership_rules_check(*, user, community: Community, participation_factor_pct: Decimal,
                           exclude_pk: int | None = None, joined_at: date | None = None) -> None:
    """The rules a (new or changed) current membership must keep, checked under a lock on the
    person's user row; call it inside the transaction that writes the membership (every
    interface does: this service, the back office's membership form).

    Austria's rule (a person's current participation factors total at most 100 %) spans
    rows of several communities: no unique or check constraint can say it. Every
    enrolment or factor change of a person therefore first locks that person's user row
    (SELECT ... FOR UPDATE): concurrent writes for the same person run one after the other,
    and the second reads the first's membership before summing. The one-current-membership
    rule is the unique constraint `one_current_membership_per_community` (a race there is a
    409)."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    current = Membership.objects.filter(user=user, left_at__isnull=True).exclude(pk=exclude_pk)
    if current.filter(community=community).exists():
        raise _invalid("Already a member.", _ALREADY_MEMBER)
    if participation_factor_pct != Decimal("100") and community.regime != Regime.AT_EEG:
        raise _invalid(
            "Participation factors below 100 % are an Austrian EEG rule.",
            {"participation_factor_pct": ["Only communities of regime at_eeg split a meter."]},
        )
    if community.regime == Regime.AT_EEG:
        taken = current.aggregate(total=Sum("participation_factor_pct"))["total"] or Decimal("0")
        if taken + participation_factor_pct > 100:
            raise _invalid(
                "Participation factors exceed 100 %.",
                {"participation_factor_pct": [f"The user's current memberships already take {taken} %."]},
            )
        if joined_at is not None:
            participation_factor_check(user=user, participation_factor_pct=participation_factor_pct,
                                       start=local_midnight(joined_at, community.time_zone),
                                       exclude_pk=exclude_pk, time_zone=community.time_zone)


def _factor_at(membership: Membership, versions: list, at: datetime) -> Decimal:
    for version in versions:
        if version.valid_from <= at and (version.valid_to is None or at < version.valid_to):
            return version.factor_pct
    # before its first recorded version (or none recorded): the earliest factor known
    return versions[0].factor_pct if versions else membership.participation_factor_pct


def _membership_span(m: Membership) -> tuple[datetime, datetime | None]:
    """[first instant, end) of a membership: its days' local midnights in its community's zone."""
    zone = m.community.time_zone
    return local_midnight(m.joined_at, zone), local_midnight(m.left_at, zone) if m.left_at else None


def participation_factor_check(*, user, participation_factor_pct: Decimal, start: datetime,
                               end: datetime | None = None, exclude_pk: int | None = None,
                               time_zone: str = "UTC") -> None:
    """Austria's 100 % rule per version interval (DOMAIN.md): at every instant of [start, end)
    (open: from `start` on), `participation_factor_pct` plus the factors the person's other
    memberships have then is at most 100. The sums only change where another membership
    joins, leaves (its day's local midnight) or changes its factor (any quarter hour), so
    those instants are the ones checked; an error names the first in `time_zone`. The caller
    holds the lock on the person's row (`membership_rules_check`, `membership_factor_change`)."""
    others = list(
        Membership.objects.filter(user=user).exclude(pk=exclude_pk)
        .filter(Q(left_at__isnull=True) | Q(left_at__gt=start.date() - timedelta(days=1)))
        .select_related("community").prefetch_related("factor_versions")
    )
    versions = {m.pk: list(m.factor_versions.all()) for m in others}
    spans = {m.pk: _membership_span(m) for m in others}
    instants = {start}
    for m in others:
        for at in (*spans[m.pk], *(v.valid_from for v in versions[m.pk])):
            if at is not None and at > start and (end is None or at < end):
                instants.add(at)
    for at in sorted(instants):
        taken = sum((_factor_at(m, versions[m.pk], at) for m in others
                     if spans[m.pk][0] <= at and (spans[m.pk][1] is None or at < spans[m.pk][1])),
                    Decimal("0"))
        if taken + participation_factor_pct > 100:
            when = local_iso(at, time_zone) if at.astimezone(ZoneInfo(time_zone)).time() != time(0) \
                else f"{at.astimezone(ZoneInfo(time_zone)):%Y-%m-%d}"
            raise _invalid(
                "Participation factors exceed 100 %.",
                {"participation_factor_pct": [
                    f"On {when} the user's other memberships already take {taken} %."]},
            )


@transaction.atomic
def membership_create(
    *, community: Community, user, member_type: str = "consumer", role: str = "member",
    joined_at: date | None = None, participation_factor_pct: Decimal = Decimal("100"),
    metering_point: dict | None = None,
) -> Membership:
    """Add `user` to a community, optionally with their first metering point (which must be
    eligible, or nothing is created). Only for a person who consented (an accepted
    invitation), a user staff just created, or the demo seed: interfaces that start from an
    email or an existing account go through `member_invite`."""
    joined_at = joined_at or timezone.localdate()
    membership_rules_check(user=user, community=community,
                           participation_factor_pct=participation_factor_pct, joined_at=joined_at)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                user=user, community=community, member_type=member_type, role=role,
                joined_at=joined_at,
                participation_factor_pct=participation_factor_pct, status=MembershipStatus.ACTIVE,
            )
            ParticipationFactor.objects.create(membership=membership, factor_pct=participation_factor_pct,
                                               valid_from=local_midnight(joined_at, community.time_zone))
    except IntegrityError as exc:
        if _constraint(exc) != "one_current_membership_per_community":
            raise
        raise Conflict(gettext("Already a member."), details=_ALREADY_MEMBER) from None
    if metering_point:
        try:
            metering_point_create(membership=membership, **metering_point)
        except Invalid as exc:
            raise Invalid(exc.message, details={"metering_point": exc.details}) from None
    return membership


def factor_change_window(*, membership: Membership, valid_from) -> tuple[datetime, datetime | None]:
    """[start, end) a factor change of `membership` from `valid_from` would cover: `valid_from`
    (a day or a quarter-hour date-time, `communities.quarter_hours`) as an instant, up to the
    next recorded version (None: open). Refuses (`Invalid`) a value off the grid, ambiguous
    at a DST change, or outside the membership."""
    zone = membership.community.time_zone
    start = quarter_hour_start(valid_from, time_zone=zone)
    first, last = _membership_span(membership)
    if start < first or (last is not None and start >= last):
        raise _invalid("The change must fall within the membership.",
                       {"valid_from": [f"Between {membership.joined_at} and the day the member left."]})
    following = membership.factor_versions.filter(valid_from__gt=start).order_by("valid_from").first()
    return start, following.valid_from if following else None


def _same_day_conflict() -> Conflict:
    return Conflict(gettext("The participation factor already changes on this day."),
                    details={"valid_from": [gettext("At most one change a day.")]})


@transaction.atomic
def membership_factor_change(*, actor, membership: Membership, participation_factor_pct: Decimal,
                             valid_from) -> ParticipationFactor:
    """Record a new participation factor of an Austrian membership from `valid_from` on: a
    day (from its local midnight in the community's zone) or a date-time on the quarter-hour
    grid (`communities.quarter_hours.quarter_hour_start`), so a change may split a day. The
    version in force then ends there; the new one runs until the next recorded change (or
    open), so a change dated in the past corrects the history and later changes stay. At
    most one change per local day (DOMAIN.md): a second one on a day that already has one is
    a conflict (409), whatever its quarter hour. The person's factors
    stay at most 100 % at every instant the new version covers. `participation_factor_pct`
    on the membership mirrors the open-ended version."""
    membership = Membership.objects.select_related("community").get(pk=membership.pk)
    factor = Decimal(participation_factor_pct)
    zone = membership.community.time_zone
    if membership.community.regime != Regime.AT_EEG:
        raise _invalid("Participation factors are an Austrian EEG rule.",
                       {"participation_factor_pct": ["Only communities of regime at_eeg split a meter."]})
    if not Decimal("0") < factor <= Decimal("100"):
        raise _invalid("A participation factor is above 0 and at most 100 %.",
                       {"participation_factor_pct": ["Must be above 0 and at most 100."]})
    start, _end = factor_change_window(membership=membership, valid_from=valid_from)
    # the person's row first (the 100 % rule spans communities), then this membership's
    get_user_model().objects.select_for_update().filter(pk=membership.user_id).first()
    membership = Membership.objects.select_for_update().select_related("community").get(pk=membership.pk)
    versions = list(membership.factor_versions.select_for_update().order_by("valid_from"))
    tz = ZoneInfo(zone)
    if any(v.valid_from.astimezone(tz).date() == start.astimezone(tz).date() for v in versions):
        raise _same_day_conflict()
    first = local_midnight(membership.joined_at, zone)
    if not versions and start > first:
        # a membership from before the history: its factor so far becomes the first version
        versions = [ParticipationFactor.objects.create(
            membership=membership, factor_pct=membership.participation_factor_pct, valid_from=first)]
    following = next((v for v in versions if v.valid_from > start), None)
    valid_to = following.valid_from if following else None
    participation_factor_check(user=membership.user, participation_factor_pct=factor, start=start,
                               end=valid_to, exclude_pk=membership.pk, time_zone=zone)
    try:
        with transaction.atomic():
            for v in versions:
                if v.valid_from < start and (v.valid_to is None or v.valid_to > start):
                    v.valid_to = start
                    v.save(update_fields=["valid_to"])
            version = ParticipationFactor.objects.create(membership=membership, factor_pct=factor,
                                                         valid_from=start, valid_to=valid_to)
    except IntegrityError as exc:
        if _constraint(exc) != "participation_factor_versions_disjoint":
            raise
        raise _same_day_conflict() from None
    if valid_to is None:
        membership.participation_factor_pct = factor
        membership.save(update_fields=["participation_factor_pct"])
    audit.record(actor=actor, action="membership.factor_change", obj=membership,
                 target_user=membership.user,
                 detail={"factor_pct": str(factor), "valid_from": local_iso(start, zone),
                         "valid_to": local_iso(valid_to, zone)})
    return version


@transaction.atomic
def membership_leave(*, membership: Membership, left_at: date | None = None) -> Membership:
    """End a membership: sets `left_at` and status `left`. The row stays (history)."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.left_at is not None:
        raise _invalid("This membership has already ended.",
                       {"left_at": [f"Already left on {membership.left_at}."]})
    left_at = left_at or timezone.localdate()
    if left_at < membership.joined_at:
        raise _invalid("Cannot leave before joining.", {"left_at": ["Must be on or after joined_at."]})
    membership.left_at = left_at
    membership.status = MembershipStatus.LEFT
    membership.save(update_fields=["left_at", "status"])
    return membership


def _check_static_shares(community: Community, shares: dict) -> dict:
    if not isinstance(shares, dict):
        raise _invalid("static_shares must be an object.",
                       {"static_shares": ["Expected {membership_id: share}."]})
    ids = set(Membership.objects.filter(community=community).values_list("pk", flat=True))
    clean, total = {}, Decimal("0")
    for key, value in shares.items():
        try:
            pk, share = int(key), Decimal(str(value))
        except (ValueError, ArithmeticError):
            raise _invalid("Bad static share.",
                           {"static_shares": [f"Bad entry {key!r}: {value!r}."]}) from None
        if pk not in ids:
            raise _invalid("Unknown membership in static shares.",
                           {"static_shares": [f"Membership {key} is not in this community."]})
        if not 0 <= share <= 1:
            raise _invalid("Shares are between 0 and 1.", {"static_shares": [f"Share of {key} is {share}."]})
        clean[str(pk)], total = float(share), total + share
    if total > 1:
        raise _invalid("Static shares add up to more than 1.",
                       {"static_shares": [f"They add up to {total}."]})
    return clean


#: the allocation keys each regime knows (DOMAIN.md); Italy's configurations keep theirs
_REGIME_KEYS = {
    Regime.FR_ACC: set(AllocationKey.values),
    Regime.AT_EEG: {AllocationKey.STATIC, AllocationKey.PRO_RATA},
}


def _check_key_of_regime(community: Community, allocation_key: str) -> None:
    allowed = _REGIME_KEYS.get(community.regime)
    if allowed is not None and allocation_key not in allowed:
        raise _invalid(
            f"The key {allocation_key} is not a key of regime {community.regime}.",
            {"allocation_key": [f"Allowed for {community.regime}: {', '.join(sorted(allowed))}."]},
        )
    if allowed is None and allocation_key == AllocationKey.FULL_DYNAMIC:
        raise _invalid("The full dynamic key is France's.",
                       {"allocation_key": ["Only communities of regime fr_acc use the full dynamic key."]})


@transaction.atomic
def configuration_create(
    *, community: Community, name: str, valid_from: date, valid_to: date | None = None,
    allocation_key: str = AllocationKey.PRO_RATA, static_shares: dict | None = None,
    producers_pct: Decimal = Decimal("55"), consumers_pct: Decimal = Decimal("40"),
    fund_pct: Decimal = Decimal("5"), status: str = ConfigurationStatus.ACTIVE,
    regime_parameters: RegimeParameters | None = None,
) -> Configuration:
    """A configuration (sharing rules over [valid_from, valid_to)). The database keeps one
    active configuration per community at any instant; an overlap is a 400 on valid_from."""
    if valid_to is not None and valid_to <= valid_from:
        raise _invalid("valid_to must be after valid_from.", {"valid_to": ["Must be after valid_from."]})
    total = producers_pct + consumers_pct + fund_pct
    if total != 100:
        raise _invalid(f"The statute split must add up to 100 (is {total}).",
                       {"fund_pct": [f"producers_pct + consumers_pct + fund_pct = {total}, not 100."]})
    if regime_parameters is None:
        regime_parameters = regime_parameters_at(regime=community.regime, on=valid_from)
    elif regime_parameters.regime != community.regime:
        raise _invalid("Parameters of another regime.", {"regime_parameters": [
            f"These are {regime_parameters.regime} parameters; the community is {community.regime}."]})
    _check_key_of_regime(community, allocation_key)
    shares = _check_static_shares(community, static_shares or {})
    if allocation_key == AllocationKey.STATIC and not shares:
        raise _invalid("The static key needs shares.", {"static_shares": ["Give a share per member."]})
    try:
        with transaction.atomic():
            return Configuration.objects.create(
                community=community, name=name, valid_from=valid_from, valid_to=valid_to,
                allocation_key=allocation_key, static_shares=shares, producers_pct=producers_pct,
                consumers_pct=consumers_pct, fund_pct=fund_pct, status=status,
                regime_parameters=regime_parameters,
            )
    except IntegrityError as exc:
        if "one_active_configuration" not in str(exc):
            raise
        raise _invalid(
            "Another active configuration of this community overlaps these dates.",
            {"valid_from": ["Another active configuration of this community overlaps "
                            f"[{valid_from}, {valid_to or 'open'})."]},
        ) from None


def _active_on(membership: Membership, day: date) -> bool:
    return membership.joined_at <= day and (membership.left_at is None or membership.left_at > day)


def transaction_problems(
    *, community: Community, from_membership: Membership | None, to_membership: Membership | None,
    energy_kwh: Decimal | None, unit_price_eur_per_kwh: Decimal | None, interval_start: datetime | None,
    interval_end: datetime | None,
) -> dict[str, list[str]]:
    """Field -> messages for a transaction that breaks a rule (empty when it is fine); the
    API service and the back-office form ask the same questions."""
    problems: dict[str, list[str]] = {}
    if interval_start and interval_end and interval_end <= interval_start:
        problems["interval_end"] = ["Must be after interval_start."]
    if energy_kwh is not None and energy_kwh <= 0:
        problems["energy_kwh"] = ["Must be greater than 0."]
    if unit_price_eur_per_kwh is not None and unit_price_eur_per_kwh < 0:
        problems["unit_price_eur_per_kwh"] = ["Must be 0 or more."]
    # membership dates are the community's local days
    day = timezone.localtime(interval_start, ZoneInfo(community.time_zone)).date() if interval_start else None
    for name, membership in (("from_membership", from_membership), ("to_membership", to_membership)):
        if membership is None:
            continue
        if membership.community_id != community.pk:
            problems[name] = ["Not a member of this community."]
        elif day is not None and not _active_on(membership, day):
            problems[name] = [f"Not an active member on {day}."]
    if to_membership is not None and from_membership is not None and to_membership.pk == from_membership.pk:
        problems["to_membership"] = ["Same as from_membership: a member cannot share with itself."]
    return problems


_TX_FIELDS = ("from_membership", "to_membership", "energy_kwh", "unit_price_eur_per_kwh",
              "interval_start", "interval_end")


@transaction.atomic
def transaction_create(
    *, community: Community, from_membership: Membership, energy_kwh: Decimal,
    interval_start: datetime, interval_end: datetime, to_membership: Membership | None = None,
    unit_price_eur_per_kwh: Decimal = Decimal("0"), actor=None, idempotency_key: str = "",
) -> EnergyTransaction:
    """Record energy shared in [interval_start, interval_end) from a member to another
    member or (to_membership empty) to the community. A transaction is always created
    `pending` (settling is the billing's business, never the creator's).

    With an `idempotency_key` (the API's `Idempotency-Key` header) a retry by the same actor
    returns the transaction the first call created, even when both run at once (a unique
    constraint on (created_by, idempotency_key) decides); the same key with another body is
    a `Conflict`."""
    if idempotency_key:
        first = EnergyTransaction.objects.filter(created_by=actor, idempotency_key=idempotency_key).first()
        if first is not None:
            return _same_request_or_conflict(first, community, locals())
    problems = transaction_problems(
        community=community, from_membership=from_membership, to_membership=to_membership,
        energy_kwh=energy_kwh, unit_price_eur_per_kwh=unit_price_eur_per_kwh,
        interval_start=interval_start, interval_end=interval_end,
    )
    if problems:
        field_name, messages = next(iter(problems.items()))
        raise _invalid(f"{field_name}: {messages[0]}", problems)
    try:
        with transaction.atomic():
            return EnergyTransaction.objects.create(
                community=community, from_membership=from_membership, to_membership=to_membership,
                energy_kwh=energy_kwh, unit_price_eur_per_kwh=unit_price_eur_per_kwh,
                interval_start=interval_start, interval_end=interval_end,
                status=TransactionStatus.PENDING, created_by=actor, idempotency_key=idempotency_key,
            )
    except IntegrityError as exc:
        if _constraint(exc) != "transaction_idempotency_key_unique":
            raise
    first = EnergyTransaction.objects.get(created_by=actor, idempotency_key=idempotency_key)
    return _same_request_or_conflict(first, community, locals())


def _same_request_or_conflict(first: EnergyTransaction, community: Community, asked: dict):
    same = first.community_id == community.pk and all(
        getattr(first, name) == asked[name] for name in _TX_FIELDS
    )
    if not same:
        raise Conflict(gettext("This Idempotency-Key was used for another transaction."),
                       details={"idempotency_key": ["Already used with a different request."]})
    return first


# --- enrolment: a person into a community ---------------------------------------------------
#
# Staff never pull an existing account into their scope: adding someone (by email or by id)
# sends an invitation, and the membership exists only once the person accepts it (email
# link -> portal page). The answer is the same whether the email has an account or not; an
# unknown email gets a new `invited` account through the accounts service (`user_invite`),
# which mails it a link to choose a password. Accounts never import communities: they only
# call back through `account_placement` (registered in communities.apps).


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invitation_terms(community: Community, *, member_type, role, joined_at, participation_factor_pct,
                      metering_point) -> dict:
    """The enrolment's terms, checked now (so the inviter gets the 400) and stored as JSON."""
    if participation_factor_pct != Decimal("100") and community.regime != Regime.AT_EEG:
        raise _invalid(
            "Participation factors below 100 % are an Austrian EEG rule.",
            {"participation_factor_pct": ["Only communities of regime at_eeg split a meter."]},
        )
    terms = {"member_type": member_type, "role": role,
             "participation_factor_pct": str(participation_factor_pct),
             "joined_at": joined_at.isoformat() if joined_at else None, "metering_point": None}
    if metering_point:
        point = dict(metering_point)
        try:
            point["code"] = _check_pod_code(point.get("code", ""))
            _, _, problems = _metering_point_fields(
                community, location=point.get("location"),
                primary_substation=point.get("primary_substation", ""),
                market_zone=point.get("market_zone", ""),
            )
            if problems:
                first = next(iter(problems.values()))[0]
                raise _invalid(f"This metering point cannot join: {first}", problems)
        except Invalid as exc:
            raise Invalid(exc.message, details={"metering_point": exc.details}) from None
        location = point.pop("location", None)
        point["location"] = [location.x, location.y] if location is not None else None
        terms["metering_point"] = point
    return terms


@transaction.atomic
def member_invite(
    *, actor, community: Community, email: str = "", user=None, full_name: str = "",
    member_type: str = "consumer", role: str = "member", joined_at: date | None = None,
    participation_factor_pct: Decimal = Decimal("100"), metering_point: dict | None = None,
) -> MembershipInvitation:
    """Invite the person with `email` (or the visible `user`) to join `community` (which the
    caller checked `actor` manages). A pending invitation of the same person is refreshed."""
    from accounts.services import user_invite

    if user is not None:
        email = user.email
    email = (email or "").strip().lower()
    if not email:
        raise _invalid("Give a user or an email.", {"user": ["Give a user id or an email."]})
    # A current member is visible to the community's managers: saying so reveals nothing.
    current = Membership.objects.filter(community=community, user__email__iexact=email, left_at__isnull=True)
    if current.exists():
        raise _invalid("Already a member.", _ALREADY_MEMBER)
    terms = _invitation_terms(
        community, member_type=member_type, role=role, joined_at=joined_at,
        participation_factor_pct=participation_factor_pct, metering_point=metering_point,
    )
    invitee = user_invite(email=email, full_name=full_name)  # an account to log in with
    token = secrets.token_urlsafe(32)
    fields = {"terms": terms, "token": _token_digest(token), "invited_by": actor,
              "expires_at": timezone.now() + timedelta(days=settings.COMMUNITY_INVITATION_DAYS)}
    pending = MembershipInvitation.objects.select_for_update().filter(
        community=community, email__iexact=email, status=InvitationStatus.PENDING).first()
    if pending is None:
        try:
            with transaction.atomic():
                pending = MembershipInvitation.objects.create(community=community, email=email, **fields)
        except IntegrityError as exc:
            if _constraint(exc) != "one_pending_invitation_per_community":
                raise
            raise Conflict(gettext("This person is being invited right now.")) from None
    else:
        for name, value in fields.items():
            setattr(pending, name, value)
        pending.save()
    invitation_id = pending.pk
    audit.record(actor=actor, action="membership.invite", obj=pending, target_user=invitee,
                 detail={"community": community.pk, "role": role})
    transaction.on_commit(lambda: _queue_invitation_email(invitation_id, token))
    return pending


def _queue_invitation_email(invitation_id: int, token: str) -> None:
    from communities.tasks import membership_invitation_send

    membership_invitation_send.delay(invitation_id, token)


def invitation_for(*, user, token: str) -> MembershipInvitation:
    """The invitation with this token addressed to `user`, else `NotFound` (whatever the
    reason: unknown token, someone else's invitation)."""
    invitation = MembershipInvitation.objects.select_related("community").filter(
        token=_token_digest(token or ""), email__iexact=getattr(user, "email", "") or "-").first()
    if invitation is None or not user.is_authenticated or not user.is_active:
        raise NotFound(gettext("No such invitation."))
    return invitation


def _check_answerable(invitation: MembershipInvitation) -> None:
    if invitation.status != InvitationStatus.PENDING:
        raise Conflict(gettext("This invitation was already %(status)s.") % {"status": invitation.status})
    if invitation.expires_at <= timezone.now():
        raise Conflict(gettext("This invitation has expired; ask the community for a new one."))


@transaction.atomic
def invitation_accept(*, user, token: str) -> Membership:
    """The invited person says yes: the membership (and its first metering point) is created
    with the inviter's terms, under every rule of `membership_create`."""
    invitation = invitation_for(user=user, token=token)
    invitation = MembershipInvitation.objects.select_for_update().get(pk=invitation.pk)
    _check_answerable(invitation)
    terms = dict(invitation.terms)
    point = terms.pop("metering_point", None)
    if point:
        location = point.pop("location", None)
        point["location"] = Point(*location, srid=4326) if location else None
    membership = membership_create(
        community=invitation.community, user=user, member_type=terms.get("member_type", "consumer"),
        role=terms.get("role", "member"),
        joined_at=date.fromisoformat(terms["joined_at"]) if terms.get("joined_at") else None,
        participation_factor_pct=Decimal(terms.get("participation_factor_pct", "100")),
        metering_point=point or None,
    )
    invitation.status, invitation.answered_at, invitation.membership = (
        InvitationStatus.ACCEPTED, timezone.now(), membership)
    invitation.save(update_fields=["status", "answered_at", "membership"])
    return membership


@transaction.atomic
def invitation_decline(*, user, token: str) -> MembershipInvitation:
    invitation = invitation_for(user=user, token=token)
    invitation = MembershipInvitation.objects.select_for_update().get(pk=invitation.pk)
    _check_answerable(invitation)
    invitation.status, invitation.answered_at = InvitationStatus.DECLINED, timezone.now()
    invitation.save(update_fields=["status", "answered_at"])
    return invitation


def account_placement_community(*, actor, community_id) -> Community:
    """For accounts.user_create: the community a new user joins, among those `actor` manages."""
    community = Community.objects.managed_by(actor).filter(pk=community_id).first()
    if community is None:
        raise _invalid("Unknown community, or not one you manage.",
                       {"community": ["Unknown community, or not one you manage."]})
    return community


def account_placement(*, user, community: Community) -> None:
    """For accounts.user_create: a user staff just created (so no consent is at stake) joins
    the community: referents as its referents, everyone else as a member."""
    if user.role == Role.REFERENT:
        community.referents.add(user)
        return
    membership_create(community=community, user=user, member_type=user.member_type)
