"""The back office of prices and tariffs, through a real admin login."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import PASSWORD
from pricing.models import BandRule, MarketPrice, Tariff
from pricing.tests.conftest import tou_tariff

pytestmark = pytest.mark.django_db
GME = Path(__file__).resolve().parent.parent / "samples" / "MGP_Prezzi_20250329_20250330.xml"
IMPORT = "/admin/pricing/marketprice/import/"


def login(client, user):
    resp = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert resp.status_code == 302, resp.content[:300]
    return client


def tariff_form(community, scheme, **extra):
    data = {
        "community": community.pk, "membership": "", "name": "Casa", "kind": "tou", "band_scheme": scheme.pk,
        "flat_eur_per_kwh": "", "dynamic_multiplier": "", "dynamic_spread_eur_per_kwh": "",
        "valid_from": "2025-01-01", "valid_to": "",
        "band_prices-TOTAL_FORMS": "3", "band_prices-INITIAL_FORMS": "0",
        "band_prices-MIN_NUM_FORMS": "0", "band_prices-MAX_NUM_FORMS": "1000",
    }
    for i, (band, price) in enumerate([("F1", "0.31"), ("F2", "0.29"), ("F3", "0.26")]):
        data[f"band_prices-{i}-band"], data[f"band_prices-{i}-price_eur_per_kwh"] = band, price
    data.update(extra)
    return data


def test_an_admin_imports_prices_and_sees_the_report(client, world):
    login(client, world.admin)
    assert "Import prices" in client.get("/admin/pricing/marketprice/").content.decode()
    upload = SimpleUploadedFile(GME.name, GME.read_bytes(), content_type="text/xml")
    resp = client.post(IMPORT, {"file": upload, "format": ""})
    assert resp.status_code == 200
    assert "141 prices read: 141 created" in resp.content.decode()
    assert MarketPrice.objects.count() == 141
    bad = SimpleUploadedFile("x.csv", b"zone,interval_start,price_eur_per_mwh\n"
                             b"NORD,2025-01-01T00:00:00Z,1\nNORD,2025-01-01T01:00,9\n")
    resp = client.post(IMPORT, {"file": bad, "format": "csv"})
    assert "refused" in resp.content.decode() and "<td>3</td>" in resp.content.decode()


def test_staff_read_prices_but_only_admins_import_or_change_them(client, world, scheme):
    MarketPrice.objects.create(market_zone="NORD", interval_start="2025-01-01T00:00:00Z",
                               resolution_minutes=60, price_eur_per_mwh=Decimal("100"), source="demo")
    login(client, world.a.vendor)
    resp = client.get("/admin/pricing/marketprice/")
    assert resp.status_code == 200 and "Import prices" not in resp.content.decode()
    upload = SimpleUploadedFile(GME.name, GME.read_bytes())
    assert client.post(IMPORT, {"file": upload}).status_code == 403
    assert MarketPrice.objects.count() == 1
    price = MarketPrice.objects.get()
    resp = client.post(f"/admin/pricing/marketprice/{price.pk}/change/", {"price_eur_per_mwh": "1"})
    assert resp.status_code == 403
    # band schemes: readable, not changeable below admin
    rule = BandRule.objects.first()
    resp = client.post(f"/admin/pricing/bandscheme/{rule.scheme_id}/change/", {"default_band": "F1"})
    assert resp.status_code == 403


def test_a_referent_adds_a_tariff_with_band_prices_to_their_community(client, world, scheme):
    login(client, world.a.referent)
    resp = client.post("/admin/pricing/tariff/add/", tariff_form(world.a.community, scheme))
    assert resp.status_code == 302, resp.context["adminform"].errors if resp.context else resp.content[:500]
    tariff = Tariff.objects.get(community=world.a.community)
    assert {p.band: p.price_eur_per_kwh for p in tariff.band_prices.all()} == {
        "F1": Decimal("0.310000"), "F2": Decimal("0.290000"), "F3": Decimal("0.260000")}


def test_an_overlapping_tariff_is_refused_in_the_form_and_by_the_database(client, world, scheme):
    tou_tariff(world.a.community, scheme, valid_from=date(2025, 1, 1), valid_to=date(2026, 1, 1))
    login(client, world.a.referent)
    data = tariff_form(world.a.community, scheme, valid_from="2025-06-01")
    resp = client.post("/admin/pricing/tariff/add/", data)
    assert resp.status_code == 200 and "Overlaps" in resp.content.decode()
    # a member's own tariff is another scope: it may overlap the community's
    data = tariff_form(world.a.community, scheme, valid_from="2025-06-01", membership=world.a.membership.pk)
    assert client.post("/admin/pricing/tariff/add/", data).status_code == 302
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Tariff.objects.create(community=world.a.community, name="Twin", kind="flat",
                              flat_eur_per_kwh=Decimal("0.2"), valid_from=date(2025, 12, 31))


def test_it_hides_other_communities_tariffs(client, world, scheme):
    other = tou_tariff(world.b.community, scheme)
    login(client, world.a.referent)
    listed = list(client.get("/admin/pricing/tariff/").context["cl"].result_list)
    assert other not in listed
    resp = client.get(f"/admin/pricing/tariff/{other.pk}/change/")
    assert resp.status_code == 302 and resp.url == "/admin/"
    # nor can a tariff be attached to another community through the form
    resp = client.post("/admin/pricing/tariff/add/", tariff_form(world.b.community, scheme))
    assert resp.status_code == 200
    assert not Tariff.objects.filter(community=world.b.community, name="Casa").exists()
