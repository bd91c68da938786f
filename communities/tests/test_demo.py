"""The demo data of communities and plants: realistic, consistent with the rules, idempotent."""

from io import StringIO

from accounts import demo as accounts_demo
from communities import demo as communities_demo
from communities.eligibility import location_problem
from communities.models import Community, Configuration, Membership, MeteringPoint
from plants import demo as plants_demo
from plants.models import Asset, Plant
from plants.services import plant_problems


def run_seed():
    ctx = {"logins": []}
    out = StringIO()
    for module in (accounts_demo, communities_demo, plants_demo):
        module.seed(ctx, out)
    return ctx, out.getvalue()


def test_it_seeds_a_realistic_community(db):
    ctx, out = run_seed()
    community = ctx["community"]
    assert community.slug == "cer-san-lazzaro" and community.market_zone == "NORD"
    assert community.primary_substation == "AC001E01537"
    assert community.boundary.valid and community.boundary.area > 0.003  # about 5 x 5 km
    assert community.boundary.contains(community.boundary.centroid)
    assert Membership.objects.filter(community=community, left_at__isnull=True).count() == 20
    pods = MeteringPoint.objects.filter(membership__community=community)
    assert pods.count() == 20
    assert all(p.code.startswith("IT001E") and len(p.code) == 14 for p in pods)
    assert all(location_problem(community, p.location) is None for p in pods)
    assert Configuration.objects.filter(community=community, status="active").count() == 1
    assert Configuration.objects.get(community=community).regime_parameters.version == "2024"
    plants = ctx["plants"]
    assert len(plants) == 6
    assert all(plant_problems(p) == {} for p in plants)
    assert Asset.objects.filter(plant__in=plants, kind="battery").count() == 3
    assert ctx["users"]["referent"][0] in community.referents.all()
    assert "6 PV plants" in out


def test_it_is_idempotent(db):
    run_seed()
    counts = (Community.objects.count(), Membership.objects.count(), MeteringPoint.objects.count(),
              Plant.objects.count(), Asset.objects.count(), Configuration.objects.count())
    run_seed()
    assert counts == (Community.objects.count(), Membership.objects.count(), MeteringPoint.objects.count(),
                      Plant.objects.count(), Asset.objects.count(), Configuration.objects.count())
