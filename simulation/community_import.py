"""A community's current members, plants and batteries as scenario participants."""

from decimal import Decimal

from simulation.models import Scenario, ScenarioBattery, ScenarioMember, ScenarioPlant


def statute_of(community) -> dict | None:
    from communities.models import Configuration

    conf = Configuration.objects.filter(community=community, status="active").order_by("-valid_from").first()
    if conf is None:
        return None
    return {
        "producers_pct": conf.producers_pct,
        "consumers_pct": conf.consumers_pct,
        "fund_pct": conf.fund_pct,
    }


def community_import(*, scenario: Scenario, community, geo_zone: str = "") -> None:
    """The community's current members, their plants and batteries, as participants.

    `geo_zone` is the FC_zonale zone of the plants' region (the caller's; required for an
    Italian incentive regime, see serializers.ScenarioIn)."""
    from plants.models import Asset, Plant

    members: dict[int, ScenarioMember] = {}
    for ms in community.memberships.current().select_related("user"):
        user = ms.user
        members[user.pk] = ScenarioMember.objects.create(
            scenario=scenario,
            key=f"u{user.pk}",
            name=str(user),
            membership=ms,
            user_type=user.user_type,
            profile="H0" if ms.member_type != "producer" else "G0",
            annual_kwh=Decimal("0") if ms.member_type == "producer" else Decimal("3000"),
        )
    for plant in Plant.objects.filter(community=community).exclude(status="decommissioned"):
        owner = members.get(plant.owner_id) or ScenarioMember.objects.create(
            scenario=scenario,
            key=f"plant{plant.pk}",
            name=f"{plant.name} (producer)",
            annual_kwh=Decimal("0"),
            user_type="real",
        )
        members.setdefault(plant.owner_id, owner)
        ScenarioPlant.objects.create(
            scenario=scenario,
            member=owner,
            plant=plant,
            name=plant.name,
            lat=plant.location.y,
            lon=plant.location.x,
            kwp=plant.capacity_kwp,
            tilt_deg=plant.tilt_deg,
            azimuth_deg=plant.azimuth_deg,
            losses_pct=plant.losses_pct,
            inverter_kw=plant.inverter_power_kw,
            commissioned_on=plant.commissioned_on,
            geo_zone=geo_zone,
        )
        for asset in Asset.objects.batteries().filter(plant=plant):
            eta = Decimal(str(round(float(asset.round_trip_efficiency or 1) ** 0.5, 3)))
            ScenarioBattery.objects.create(
                scenario=scenario,
                member=owner,
                name=f"{plant.name} battery",
                capacity_kwh=asset.capacity_kwh,
                power_kw=asset.power_kw,
                charge_efficiency=eta,
                discharge_efficiency=eta,
                soc_min_pct=asset.soc_min_pct,
                soc_max_pct=asset.soc_max_pct,
                soc_initial_pct=max(asset.soc_min_pct, min(asset.soc_max_pct, Decimal("50"))),
            )
