"""Shared test fixtures: two tenants, so every test can check an outsider is kept out.

`world` builds organization A and B, each with a community, a vendor, a referent and two
members; plus a platform admin. Tests reach services through the public surface (HTTP,
websocket, MQTT, management commands) against the real PostGIS and Redis.
"""

import os
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.test import override_settings
from rest_framework.test import APIClient

PASSWORD = "Sunny-Meadow-42!"

# DEBUG is off by default (config/settings.py); subprocesses the tests start (manage.py
# mqtt_bridge, uvicorn) inherit TESTING=1 and so the development secrets.
os.environ.setdefault("TESTING", "1")


@pytest.fixture(autouse=True)
def _isolated_cache():
    """A fresh Redis key prefix per test: lockout counters and caches never leak."""
    from django.conf import settings

    caches = {k: {**v, "KEY_PREFIX": f"t{uuid.uuid4().hex[:12]}"} for k, v in settings.CACHES.items()}
    with override_settings(CACHES=caches):
        yield


def make_user(email: str, role: str = "user", organization=None, **extra):
    from accounts.models import User

    return User.objects.create_user(
        email=email, password=PASSWORD, username=email.split("@")[0], role=role,
        organization=organization, is_verified=True, **extra,
    )


def square(lon: float, lat: float, half: float = 0.02) -> MultiPolygon:
    """A small square boundary around (lon, lat), ~2 km half-side at Italian latitudes."""
    ring = ((lon - half, lat - half), (lon + half, lat - half), (lon + half, lat + half),
            (lon - half, lat + half), (lon - half, lat - half))
    return MultiPolygon(Polygon(ring, srid=4326), srid=4326)


@dataclass
class Tenant:
    organization: object
    community: object
    vendor: object
    referent: object
    member: object
    other_member: object
    membership: object
    plant: object


def _tenant(tag: str, lon: float, lat: float, substation: str) -> Tenant:
    from accounts.models import Organization
    from communities.models import Community, Membership
    from plants.models import Plant

    org = Organization.objects.create(name=f"Org {tag}", slug=f"org-{tag}")
    community = Community.objects.create(
        name=f"Community {tag}", slug=f"community-{tag}", organization=org,
        boundary=square(lon, lat), primary_substation=substation, status="active",
    )
    vendor = make_user(f"vendor-{tag}@example.com", "vendor", organization=org)
    referent = make_user(f"referent-{tag}@example.com", "referent")
    community.referents.add(referent)
    member = make_user(f"member-{tag}@example.com", member_type="prosumer", full_name=f"Member {tag}")
    other = make_user(f"other-{tag}@example.com", full_name=f"Other {tag}")
    membership = Membership.objects.create(
        user=member, community=community, member_type="prosumer", joined_at=date(2025, 1, 1)
    )
    Membership.objects.create(user=other, community=community, joined_at=date(2025, 1, 1))
    plant = Plant.objects.create(
        name=f"Plant {tag}", owner=member, community=community,
        location=Point(lon, lat, srid=4326), capacity_kwp=6, commissioned_on=date(2024, 5, 1),
    )
    return Tenant(org, community, vendor, referent, member, other, membership, plant)


@dataclass
class World:
    admin: object
    a: Tenant
    b: Tenant


@pytest.fixture
def world(db) -> World:
    admin = make_user("admin@example.com", "admin")
    # A: around Bologna; B: around Bari (different substations and market zones).
    return World(
        admin=admin,
        a=_tenant("a", 11.34, 44.49, "AC001E00001"),
        b=_tenant("b", 16.87, 41.12, "AC001E00002"),
    )


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def as_user(api):
    """`as_user(user)` -> an APIClient authenticated as that user (JWT-free, forced auth)."""

    def _as(user):
        client = APIClient()
        client.force_authenticate(user=user)
        return client

    return _as
