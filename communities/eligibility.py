"""Who may join a community, geographically (DOMAIN.md, Italy: members and plants under
the community's primary substation; shared energy only within one market zone).

Pure functions over model instances: the services, the admin forms and the importers all
ask the same questions and get the same messages.
"""

from django.contrib.gis.geos import Point

from communities.models import Community, MeteringPoint, Regime, SubstationArea


def location_problem(community: Community, location: Point | None) -> str | None:
    """Why `location` cannot join `community`, or None when it can (or nothing to check)."""
    if location is None or community.boundary is None:
        return None
    boundary = community.boundary
    if location.srid and boundary.srid and location.srid != boundary.srid:
        location = location.transform(boundary.srid, clone=True)
    if not boundary.intersects(location):
        return (
            f"Location ({location.x:.5f}, {location.y:.5f}) is outside the boundary of "
            f"community {community.name}."
        )
    return None


def substation_problem(community: Community, substation: str | None) -> str | None:
    if not substation or not community.primary_substation:
        return None
    if substation.strip().upper() != community.primary_substation.strip().upper():
        return (
            f"Primary substation {substation} differs from the community's "
            f"{community.primary_substation}: only points under the same primary substation can join."
        )
    return None


def market_zone_problem(community: Community, market_zone: str | None) -> str | None:
    if not market_zone or market_zone == community.market_zone:
        return None
    return (
        f"Market zone {market_zone} differs from the community's {community.market_zone}: "
        "shared energy only counts within one market zone."
    )


def metering_point_problems(
    community: Community, *, location: Point | None, primary_substation: str | None,
    market_zone: str | None, municipality_class: str = "", exclude_point: int | None = None,
) -> dict[str, list]:
    """Field -> messages for a metering point that wants to be in `community` (a French
    ACC's perimeter also gives `perimeter`: [machine-readable item])."""
    problems = {
        "location": location_problem(community, location),
        "primary_substation": substation_problem(community, primary_substation),
        "market_zone": market_zone_problem(community, market_zone),
    }
    out = {field: [msg] for field, msg in problems.items() if msg}
    if location is not None and "location" not in out:
        item = fr_acc_perimeter_problem(community, exclude_point=exclude_point, extra=[{
            "label": "the new metering point", "lat": location.y, "lon": location.x,
            "class": municipality_class or ""}])
        if item:
            out["location"] = [item["message"]]
            out["perimeter"] = [item]
    return out


def substation_at(location: Point | None) -> str:
    """Code of the imported substation area containing `location`, or "" if none (or several)."""
    if location is None:
        return ""
    codes = list(SubstationArea.objects.filter(area__intersects=location).values_list("code", flat=True)[:2])
    return codes[0] if len(codes) == 1 else ""


# -- France's ACC: perimeter and power (DOMAIN.md, "France: ACC") ----------------------------

def _fr_params(community: Community) -> dict:
    from django.utils import timezone

    from communities.selectors import regime_parameters_at
    from energy_rules.figures import default_params

    row = regime_parameters_at(regime=community.regime, on=timezone.localdate())
    return {**default_params("fr_acc"), **(row.params if row else {})}


def fr_acc_participants(community: Community, *, exclude_point: int | None = None,
                        exclude_plant: int | None = None) -> list[dict]:
    """The located participants of an ACC operation: current members' metering points and
    the community's plants (not decommissioned), each with its municipality class (a
    plant's is its metering point's; unknown counts as urban)."""
    from plants.models import Plant, PlantStatus

    rows = []
    points = MeteringPoint.objects.filter(
        membership__community=community, membership__left_at__isnull=True, location__isnull=False,
    ).exclude(pk=exclude_point).order_by("pk")
    for mp in points:
        rows.append({"label": f"metering point {mp.code}", "lat": mp.location.y, "lon": mp.location.x,
                     "class": mp.municipality_class})
    plants = (Plant.objects.filter(community=community).exclude(status=PlantStatus.DECOMMISSIONED)
              .exclude(pk=exclude_plant).select_related("metering_point").order_by("pk"))
    for plant in plants:
        cls = plant.metering_point.municipality_class if plant.metering_point_id else ""
        rows.append({"label": f"plant {plant.name}", "lat": plant.location.y, "lon": plant.location.x,
                     "class": cls})
    return rows


def fr_acc_perimeter_problem(community: Community, *, extra: list[dict] = (), **exclude) -> dict | None:
    """None when the ACC perimeter holds with `extra` participants added, else a
    machine-readable item: {code, message, distance_km, limit_km, limit_kind, furthest}."""
    from django.utils.translation import gettext as _

    from energy_rules import fr_acc

    if community.regime != Regime.FR_ACC:
        return None
    rows = fr_acc_participants(community, **exclude) + list(extra)
    if len(rows) < 2:
        return None
    check = fr_acc.perimeter_check([r["lat"] for r in rows], [r["lon"] for r in rows],
                                   [r["class"] for r in rows], _fr_params(community))
    if check.ok:
        return None
    a, b = (rows[i]["label"] for i in check.furthest)
    message = _("The two furthest participants (%(a)s and %(b)s) are %(distance).2f km apart: an ACC "
                "allows %(limit)g km here (%(kind)s).") % {
        "a": a, "b": b, "distance": check.distance_km, "limit": check.limit_km, "kind": check.limit_kind}
    return {"code": "fr_acc_perimeter", "message": message, "distance_km": round(check.distance_km, 3),
            "limit_km": check.limit_km, "limit_kind": check.limit_kind, "furthest": [a, b]}


def fr_acc_power_problem(community: Community, *, extra_kw=0,
                         exclude_plant: int | None = None) -> dict | None:
    """None when the operation's installed power (plants' kWp) stays within the cap."""
    from django.db.models import Sum
    from django.utils.translation import gettext as _

    from energy_rules import fr_acc
    from plants.models import Plant, PlantStatus

    if community.regime != Regime.FR_ACC:
        return None
    installed = (Plant.objects.filter(community=community).exclude(status=PlantStatus.DECOMMISSIONED)
                 .exclude(pk=exclude_plant).aggregate(kw=Sum("capacity_kwp"))["kw"] or 0)
    total_kw = float(installed) + float(extra_kw or 0)
    limit_kw = fr_acc.power_limit_kw(public_body_single_epci=community.public_body_single_epci,
                                     params=_fr_params(community))
    if total_kw <= limit_kw:
        return None
    message = _("The operation's plants total %(total).1f kW: an ACC allows %(limit)g kW.") % {
        "total": total_kw, "limit": limit_kw}
    return {"code": "fr_acc_power", "message": message, "total_kw": round(total_kw, 3), "limit_kw": limit_kw}


def regime_problems(community: Community) -> list[dict]:
    """The community's data-quality items of its regime's own rules (empty when it fits)."""
    return [p for p in (fr_acc_perimeter_problem(community), fr_acc_power_problem(community)) if p]
