"""Writes of the plants app: plants and their assets, with the community's eligibility
rules (inside the boundary, under the community's primary substation)."""

from datetime import date
from decimal import Decimal

from django.contrib.gis.geos import Point, Polygon
from django.db import transaction
from django.utils.translation import gettext

from communities.eligibility import location_problem, substation_problem
from communities.models import Community, Direction, Membership, MeteringPoint
from core.exceptions import Invalid
from plants.models import Asset, AssetKind, Plant

PLANT_FIELDS = {"name", "owner", "community", "metering_point", "location", "site", "capacity_kwp",
                "tilt_deg", "azimuth_deg", "losses_pct", "technology", "inverter_power_kw",
                "commissioned_on", "status"}


def plant_problems(plant: Plant) -> dict[str, list[str]]:
    """Field -> messages for a plant that does not fit its community (empty when it fits)."""
    problems: dict[str, list[str]] = {}
    community: Community | None = plant.community
    if plant.site is not None and plant.location is not None and not plant.site.intersects(plant.location):
        problems["site"] = ["The footprint does not contain the plant's location."]
    mp: MeteringPoint | None = plant.metering_point
    if mp is not None and mp.direction == Direction.WITHDRAWAL:
        problems["metering_point"] = ["A withdrawal-only metering point cannot connect a plant."]
    if community is None:
        if mp is not None:
            problems["community"] = ["A plant on a metering point belongs to that point's community."]
        return problems
    if not Membership.objects.filter(user=plant.owner, community=community, left_at__isnull=True).exists():
        problems["owner"] = ["The owner is not a current member of the community."]
    msg = location_problem(community, plant.location)
    if msg:
        problems["location"] = [msg]
    if mp is not None and "metering_point" not in problems:
        if mp.membership.community_id != community.pk or mp.membership.left_at is not None:
            problems["metering_point"] = ["The metering point is not a current point of this community."]
        else:
            msg = substation_problem(community, mp.primary_substation)
            if msg:
                problems["metering_point"] = [msg]
    return problems


def _raise_if(problems: dict) -> None:
    if problems:
        first = next(iter(problems.values()))[0]
        raise Invalid(gettext("This plant cannot join: %(reason)s") % {"reason": first}, details=problems)


def _asset_problems(kind: str, specs: dict) -> dict:
    if kind != AssetKind.BATTERY:
        return {}
    missing = [f for f in ("capacity_kwh", "power_kw", "round_trip_efficiency") if specs.get(f) in (None, "")]
    if missing:
        return {f: ["Required for a battery."] for f in missing}
    rte = Decimal(str(specs["round_trip_efficiency"]))
    if not Decimal("0.01") <= rte <= 1:
        return {"round_trip_efficiency": ["Between 0.01 and 1."]}
    if Decimal(str(specs["capacity_kwh"])) <= 0 or Decimal(str(specs["power_kw"])) <= 0:
        return {"capacity_kwh": ["Capacity and power must be positive."]}
    return {}


def asset_create(*, plant: Plant, kind: str, manufacturer: str = "", model: str = "", serial: str = "",
                 capacity_kwh: Decimal | None = None, power_kw: Decimal | None = None,
                 round_trip_efficiency: Decimal | None = None, soc_min_pct: Decimal = Decimal("10"),
                 soc_max_pct: Decimal = Decimal("100"), specs: dict | None = None,
                 installed_on: date | None = None) -> Asset:
    problems = _asset_problems(kind, {"capacity_kwh": capacity_kwh, "power_kw": power_kw,
                                      "round_trip_efficiency": round_trip_efficiency})
    if not soc_min_pct < soc_max_pct:
        problems["soc_min_pct"] = ["Must be below soc_max_pct."]
    if problems:
        raise Invalid(gettext("Invalid asset."), details={"assets": problems})
    return Asset.objects.create(
        plant=plant, kind=kind, manufacturer=manufacturer, model=model, serial=serial,
        capacity_kwh=capacity_kwh, power_kw=power_kw, round_trip_efficiency=round_trip_efficiency,
        soc_min_pct=soc_min_pct, soc_max_pct=soc_max_pct, specs=specs or {}, installed_on=installed_on,
    )


@transaction.atomic
def plant_create(
    *, name: str, owner, location: Point, capacity_kwp: Decimal, community: Community | None = None,
    metering_point: MeteringPoint | None = None, site: Polygon | None = None,
    tilt_deg: Decimal = Decimal("30"), azimuth_deg: Decimal = Decimal("180"),
    losses_pct: Decimal = Decimal("14"), technology: str = "pv_mono",
    inverter_power_kw: Decimal | None = None, commissioned_on: date | None = None,
    status: str = "operating", assets: list[dict] | tuple = (),
) -> Plant:
    """A plant, with its assets; refused (400 naming the field) if it does not fit its community."""
    plant = Plant(
        name=name, owner=owner, community=community, metering_point=metering_point, location=location,
        site=site, capacity_kwp=capacity_kwp, tilt_deg=tilt_deg, azimuth_deg=azimuth_deg,
        losses_pct=losses_pct, technology=technology, inverter_power_kw=inverter_power_kw,
        commissioned_on=commissioned_on, status=status,
    )
    _raise_if(plant_problems(plant))
    plant.save()
    for spec in assets:
        asset_create(plant=plant, **spec)
    return plant


@transaction.atomic
def plant_update(*, plant: Plant, **changes) -> Plant:
    """Change a plant; a new location, community or metering point is checked again."""
    unknown = set(changes) - PLANT_FIELDS
    if unknown:
        raise TypeError(f"plant_update() got unexpected fields {sorted(unknown)}")
    for name, value in changes.items():
        setattr(plant, name, value)
    if {"location", "community", "metering_point", "site", "owner"} & set(changes):
        _raise_if(plant_problems(plant))
    plant.save()
    return plant


@transaction.atomic
def plant_set_status(*, plants, status: str) -> int:
    """Bulk status change (back office action); returns how many plants changed."""
    return Plant.objects.filter(pk__in=[p.pk for p in plants]).exclude(status=status).update(status=status)
