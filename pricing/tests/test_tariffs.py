"""Tariff validity, scope and kinds, through the selector settlement calls and the admin."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from conftest import PASSWORD
from core.exceptions import NotFound
from pricing.models import Tariff
from pricing.selectors import supply_price
from pricing.tests.conftest import tou_tariff

pytestmark = pytest.mark.django_db


def test_validity_is_half_open_on_local_dates(world, scheme):
    old = tou_tariff(world.a.community, scheme, valid_from=date(2025, 1, 1), valid_to=date(2025, 7, 1))
    new = Tariff.objects.create(community=world.a.community, name="Flat", kind="flat",
                                flat_eur_per_kwh=Decimal("0.22"), valid_from=date(2025, 7, 1))
    # 30 June 23:30 in Rome is 21:30 UTC: still the old tariff; 22:00 UTC is 1 July in Rome.
    before = supply_price(community=world.a.community, at=datetime(2025, 6, 30, 21, 30, tzinfo=UTC))
    assert before.tariff_id == old.pk
    got = supply_price(community=world.a.community, at=datetime(2025, 6, 30, 22, 0, tzinfo=UTC))
    assert got == (Decimal("0.220000"), None, new.pk)
    with pytest.raises(NotFound):
        supply_price(community=world.a.community, at=datetime(2024, 12, 31, 12, tzinfo=UTC))


def test_a_members_tariff_wins_for_them_only(world, scheme):
    tou_tariff(world.a.community, scheme)
    own = tou_tariff(world.a.community, scheme, membership=world.a.membership, name="Mine",
                     prices={"F1": Decimal("0.2"), "F2": Decimal("0.2"), "F3": Decimal("0.1")})
    at = datetime(2025, 3, 16, 12, tzinfo=UTC)  # Sunday: F3
    assert supply_price(membership=world.a.membership, at=at) == (Decimal("0.100000"), "F3", own.pk)
    other = world.a.community.memberships.exclude(pk=world.a.membership.pk).get()
    assert supply_price(membership=other, at=at).price_eur_per_kwh == Decimal("0.250000")


def test_a_dynamic_tariff_without_its_formula_is_refused(client, world, scheme):
    client.post("/admin/login/?next=/admin/", {"username": world.a.referent.email, "password": PASSWORD})
    data = {"community": world.a.community.pk, "name": "Index", "kind": "dynamic", "valid_from": "2025-01-01",
            "band_prices-TOTAL_FORMS": "0", "band_prices-INITIAL_FORMS": "0"}
    resp = client.post("/admin/pricing/tariff/add/", data)
    assert resp.status_code == 200 and "Required for a dynamic" in resp.content.decode()
    assert not Tariff.objects.exists()


def test_nobody_changes_another_communitys_tariff(client, world, scheme):
    other = tou_tariff(world.b.community, scheme)
    # a referent of A who is also a plain member of B sees B's community tariff, not changes it
    world.b.community.memberships.create(user=world.a.referent, joined_at=date(2025, 1, 1))
    client.post("/admin/login/?next=/admin/", {"username": world.a.referent.email, "password": PASSWORD})
    resp = client.post(f"/admin/pricing/tariff/{other.pk}/change/", {"name": "Mine now"})
    assert resp.status_code == 403
    assert Tariff.objects.get(pk=other.pk).name == "F1/F2/F3"


def test_band_prices_must_match_the_scheme(client, world, scheme):
    from pricing.tests.test_admin import tariff_form

    client.post("/admin/login/?next=/admin/", {"username": world.a.referent.email, "password": PASSWORD})
    data = tariff_form(world.a.community, scheme, **{"band_prices-2-band": "F4"})
    resp = client.post("/admin/pricing/tariff/add/", data)
    assert resp.status_code == 200 and "Not a band of" in resp.content.decode()
    data = tariff_form(world.a.community, scheme, **{"band_prices-TOTAL_FORMS": "2"})
    resp = client.post("/admin/pricing/tariff/add/", data)
    assert resp.status_code == 200 and "missing: F3" in resp.content.decode()
    assert not Tariff.objects.exists()
