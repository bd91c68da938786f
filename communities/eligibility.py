"""Who may join a community, geographically (DOMAIN.md, Italy: members and plants under
the community's primary substation; shared energy only within one market zone).

Pure functions over model instances: the services, the admin forms and the importers all
ask the same questions and get the same messages.
"""

from django.contrib.gis.geos import Point

from communities.models import Community, SubstationArea


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
    market_zone: str | None,
) -> dict[str, list[str]]:
    """Field -> messages for a metering point that wants to be in `community`."""
    problems = {
        "location": location_problem(community, location),
        "primary_substation": substation_problem(community, primary_substation),
        "market_zone": market_zone_problem(community, market_zone),
    }
    return {field: [msg] for field, msg in problems.items() if msg}


def substation_at(location: Point | None) -> str:
    """Code of the imported substation area containing `location`, or "" if none (or several)."""
    if location is None:
        return ""
    codes = list(SubstationArea.objects.filter(area__intersects=location).values_list("code", flat=True)[:2])
    return codes[0] if len(codes) == 1 else ""
