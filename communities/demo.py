"""Demo community: CER San Lazzaro di Savena, on the eastern edge of Bologna (Emilia-Romagna,
market zone NORD). 20 members with Italian PODs under one primary substation and an active
configuration. Idempotent: keyed on slug, emails, POD codes and names.

The boundary follows the town's built-up area approximately (hand-drawn from the
municipality's outline, WGS 84); the primary substation code is illustrative, in the
format of the GSE's cabine primarie map.
"""

from datetime import date
from decimal import Decimal

from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from communities.models import Community, Configuration, Membership, MeteringPoint
from communities.regime_sets import regime_parameters_ensure
from communities.services import configuration_create, membership_create, metering_point_create

SLUG = "cer-san-lazzaro"
SUBSTATION = "AC001E01537"
BOUNDARY = [
    (11.3690, 44.4770), (11.3800, 44.4850), (11.3960, 44.4905), (11.4150, 44.4920),
    (11.4330, 44.4880), (11.4470, 44.4790), (11.4520, 44.4660), (11.4440, 44.4530),
    (11.4280, 44.4450), (11.4080, 44.4420), (11.3900, 44.4460), (11.3760, 44.4560),
    (11.3690, 44.4670), (11.3690, 44.4770),
]
EXTRA_MEMBERS = [
    ("Alessandro Gallo", "alessandro.gallo", "consumer"), ("Martina Costa", "martina.costa", "prosumer"),
    ("Giorgio Fontana", "giorgio.fontana", "consumer"),
    ("Valentina Moretti", "valentina.moretti", "consumer"),
    ("Stefano Barbieri", "stefano.barbieri", "prosumer"), ("Laura Lombardi", "laura.lombardi", "consumer"),
    ("Matteo Giordano", "matteo.giordano", "consumer"), ("Federica Rinaldi", "federica.rinaldi", "consumer"),
    ("Simone Caruso", "simone.caruso", "consumer"), ("Comune di San Lazzaro", "energia.comune", "producer"),
]
# Where each of the 20 members' POD sits (lon, lat), all inside the boundary.
LOCATIONS = [
    (11.4085, 44.4709), (11.4012, 44.4741), (11.3954, 44.4688), (11.4150, 44.4790), (11.4221, 44.4652),
    (11.3880, 44.4602), (11.4301, 44.4712), (11.4178, 44.4568), (11.3991, 44.4820), (11.4366, 44.4620),
    (11.3820, 44.4700), (11.4052, 44.4531), (11.4260, 44.4833), (11.4420, 44.4702), (11.3930, 44.4541),
    (11.4115, 44.4866), (11.3789, 44.4788), (11.4333, 44.4540), (11.4190, 44.4700), (11.4040, 44.4630),
]


def boundary() -> MultiPolygon:
    return MultiPolygon(Polygon(BOUNDARY, srid=4326), srid=4326)


def _extra_user(name: str, local: str, member_type: str, password: str):
    from accounts.models import User

    email = f"{local}@example.it"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, username=local, password=password, full_name=name, member_type=member_type,
            is_verified=True, address="San Lazzaro di Savena (BO)",
        )
    return user


def _community(ctx) -> Community:
    community = Community.objects.filter(slug=SLUG).first()
    if community is None:
        community = Community.objects.create(
            name="CER San Lazzaro di Savena", slug=SLUG, organization=ctx["organization"],
            regime="it_cer", boundary=boundary(), primary_substation=SUBSTATION, market_zone="NORD",
            time_zone="Europe/Rome", currency="EUR", status="active",
        )
    community.referents.add(*ctx["users"]["referent"])
    return community


def seed(ctx: dict, out) -> None:
    regime_parameters_ensure()
    community = _community(ctx)
    people = list(ctx["users"]["user"])
    people += [_extra_user(n, local, t, ctx["password"]) for n, local, t in EXTRA_MEMBERS]
    memberships = []
    for i, (user, (lon, lat)) in enumerate(zip(people[:20], LOCATIONS, strict=True)):
        membership = Membership.objects.filter(user=user, community=community, left_at__isnull=True).first()
        if membership is None:
            membership = membership_create(
                community=community, user=user, member_type=user.member_type,
                joined_at=date(2024, 3, 1 + i % 28),
            )
        code = f"IT001E{41170200 + i:08d}"
        if not MeteringPoint.objects.filter(code=code).exists():
            direction = "withdrawal" if user.member_type == "consumer" else "both"
            metering_point_create(
                membership=membership, code=code, location=Point(lon, lat, srid=4326),
                primary_substation=SUBSTATION, market_zone="NORD", direction=direction,
                meter_serial=f"E-DIS-{7310040 + i}",
            )
        memberships.append(membership)
    if not Configuration.objects.filter(community=community, name="Statuto 2025").exists():
        configuration_create(
            community=community, name="Statuto 2025", valid_from=date(2025, 1, 1),
            producers_pct=Decimal("55"), consumers_pct=Decimal("40"), fund_pct=Decimal("5"),
        )
    ctx["community"] = community
    ctx["memberships"] = memberships
    out.write(f"communities: {community.name}, {len(memberships)} members with PODs, substation {SUBSTATION}")
