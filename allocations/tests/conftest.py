"""A French ACC and an Austrian EEG made from the shared `world` (tenant A), with
metering points: consumers C1, C2 (withdrawal) and a producer P1 (injection)."""

from dataclasses import dataclass
from datetime import date

import pytest

from communities.models import Community, Configuration, Membership, MeteringPoint
from conftest import make_user

FR = {"c1": "11111111111111", "c2": "22222222222222", "p1": "33333333333333"}
AT = {"c1": "AT" + "0" * 30 + "1", "c2": "AT" + "0" * 30 + "2", "p1": "AT" + "0" * 30 + "3"}


@dataclass
class Site:
    community: Community
    c1: MeteringPoint
    c2: MeteringPoint
    p1: MeteringPoint
    m1: Membership
    m2: Membership
    mp: Membership


def _site(world, regime: str, codes: dict, tz: str) -> Site:
    community = world.a.community
    community.regime, community.time_zone, community.boundary = regime, tz, None
    community.save()
    m1, m2 = world.a.membership, Membership.objects.get(user=world.a.other_member, community=community)
    producer = make_user(f"producer-{regime}@example.com", full_name="Producer")
    mp = Membership.objects.create(user=producer, community=community, member_type="producer",
                                   joined_at=date(2025, 1, 1))
    c1 = MeteringPoint.objects.create(code=codes["c1"], membership=m1)
    c2 = MeteringPoint.objects.create(code=codes["c2"], membership=m2)
    p1 = MeteringPoint.objects.create(code=codes["p1"], membership=mp, direction="injection")
    return Site(community, c1, c2, p1, m1, m2, mp)


@pytest.fixture
def fr(world) -> Site:
    return _site(world, "fr_acc", FR, "Europe/Paris")


@pytest.fixture
def at(world) -> Site:
    site = _site(world, "at_eeg", AT, "Europe/Vienna")
    site.community.eeg_scope = "local"
    site.community.save()
    Configuration.objects.create(community=site.community, name="EEG", valid_from=date(2025, 1, 1),
                                 allocation_key="pro_rata")
    return site
