"""Reads of the communities app. Every user-facing query starts from `visible_to(user)`."""

from datetime import date, datetime
from decimal import Decimal

import numpy as np
from django.db.models import (
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from communities.models import (
    Community,
    Configuration,
    EnergyTransaction,
    Membership,
    MembershipInvitation,
    MeteringPoint,
    ParticipationFactor,
    RegimeParameters,
)


def member_count_subquery():
    return Subquery(
        Membership.objects.filter(community=OuterRef("pk"), left_at__isnull=True)
        .order_by().values("community").annotate(n=Count("id")).values("n"),
        output_field=IntegerField(),
    )


def _installed_kwp_sq():
    from plants.models import Plant, PlantStatus

    return Subquery(
        Plant.objects.filter(community=OuterRef("pk"))
        .exclude(status=PlantStatus.DECOMMISSIONED)
        .order_by().values("community").annotate(s=Sum("capacity_kwp")).values("s"),
        output_field=DecimalField(max_digits=14, decimal_places=3),
    )


def community_list(*, user) -> QuerySet[Community]:
    """Communities the user can see, with their public aggregates (member count, kWp)."""
    return (
        Community.objects.visible_to(user)
        .select_related("organization")
        .prefetch_related("referents")
        .annotate(
            member_count=Coalesce(member_count_subquery(), Value(0)),
            installed_kwp=Coalesce(_installed_kwp_sq(), Value(Decimal("0")),
                                   output_field=DecimalField(max_digits=14, decimal_places=3)),
        )
    )


def community_managed_ids(*, user) -> set[int]:
    return set(Community.objects.managed_by(user).values_list("pk", flat=True))


def community_outside_report(*, community: Community) -> dict:
    """Current members' metering points and the community's plants that no longer fit the
    boundary or the primary substation (after a boundary change). Nothing is removed."""
    from communities.eligibility import location_problem, substation_problem
    from plants.models import Plant

    points = []
    for mp in MeteringPoint.objects.filter(
        membership__community=community, membership__left_at__isnull=True
    ).select_related("membership"):
        reasons = [r for r in (location_problem(community, mp.location),
                               substation_problem(community, mp.primary_substation)) if r]
        if reasons:
            points.append({"id": mp.pk, "code": mp.code, "membership": mp.membership_id,
                           "reasons": reasons})
    plants = []
    for plant in Plant.objects.filter(community=community).select_related("metering_point"):
        reasons = [location_problem(community, plant.location)]
        if plant.metering_point_id:
            reasons.append(substation_problem(community, plant.metering_point.primary_substation))
        reasons = [r for r in reasons if r]
        if reasons:
            plants.append({"id": plant.pk, "name": plant.name, "reasons": reasons})
    return {"metering_points": points, "plants": plants}


def membership_list(*, user, community: Community | None = None) -> QuerySet[Membership]:
    qs = Membership.objects.visible_to(user).select_related("user", "community")
    if community is not None:
        qs = qs.filter(community=community)
    return qs


def metering_point_list(*, user) -> QuerySet[MeteringPoint]:
    return MeteringPoint.objects.visible_to(user).select_related("membership__community", "membership__user")


def configuration_list(*, user) -> QuerySet[Configuration]:
    return Configuration.objects.visible_to(user).select_related("community", "regime_parameters")


def transaction_list(*, user, community: Community | None = None) -> QuerySet[EnergyTransaction]:
    qs = EnergyTransaction.objects.visible_to(user).select_related(
        "community", "from_membership__user", "to_membership__user"
    )
    if community is not None:
        qs = qs.filter(community=community)
    return qs


def invitation_list_for(*, user) -> QuerySet[MembershipInvitation]:
    """Open invitations addressed to `user`'s email (what the invited person sees)."""
    if not user.is_authenticated or not user.email:
        return MembershipInvitation.objects.none()
    return (MembershipInvitation.objects.pending().filter(email__iexact=user.email)
            .select_related("community"))


def regime_parameters_at(*, regime: str, on: date) -> RegimeParameters | None:
    """The parameter set of `regime` valid on `on` (valid_to exclusive), or None."""
    return (
        RegimeParameters.objects.filter(regime=regime, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on))
        .order_by("-valid_from").first()
    )


def participation_factor_versions(*, membership: Membership) -> QuerySet:
    """The dated versions of a membership's participation factor, oldest first (with the
    membership's community, whose zone the API shows them in)."""
    return (ParticipationFactor.objects.filter(membership=membership).select_related("membership__community")
            .order_by("valid_from"))


def participation_factor_matrix(*, membership_ids: list[int], interval_starts: list[datetime]) -> np.ndarray:
    """(len(membership_ids), T) each membership's participation factor as a fraction (0, 1]
    in force at each interval (aware datetimes): a version covers the intervals starting in
    [valid_from, valid_to), instants on the quarter-hour grid (a change at 10:15 local
    splits that day; a day's change starts at its local midnight, stored as such).
    Before a membership's first version, or with none recorded, the earliest factor known
    applies."""
    starts = np.array([s.timestamp() for s in interval_starts], dtype=np.float64)
    ids = list(membership_ids)
    out = np.ones((len(ids), len(starts)))
    current = dict(Membership.objects.filter(pk__in=set(ids)).values_list("pk", "participation_factor_pct"))
    versions: dict[int, list] = {}
    rows = ParticipationFactor.objects.filter(membership_id__in=set(ids)).order_by("membership_id",
                                                                                   "valid_from")
    for v in rows:
        versions.setdefault(v.membership_id, []).append(v)
    for row, pk in enumerate(ids):
        mine = versions.get(pk)
        if not mine:
            out[row] = float(current[pk]) / 100
            continue
        out[row] = float(mine[0].factor_pct) / 100
        for v in mine:
            upto = v.valid_to.timestamp() if v.valid_to else np.inf
            out[row, (starts >= v.valid_from.timestamp()) & (starts < upto)] = float(v.factor_pct) / 100
    return out
