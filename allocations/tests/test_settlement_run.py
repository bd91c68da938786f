"""A French ACC and an Austrian EEG settled end to end through the settlement API
(h-settle's `POST /api/v1/billing/settlements`): the Austrian meters report every quarter
hour of March 2025 through the real ingest and rollups, the French points come as the
grid operator's official curves; the run reads them, applies the regime (registered in
`settlement.regimes.REGIMES`) with the imported keys / participation factors / network
levels, and prints the lines. Hand-computed."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from allocations.tests.conftest import FR
from allocations.tests.test_allocation_keys_import import upload

pytestmark = pytest.mark.django_db
URL = "/api/v1/billing/settlements"
QUARTERS = 2972  # March 2025 in Paris and Vienna: 743 hours (DST on the 30th)
START = datetime(2025, 2, 28, 23, tzinfo=UTC)


def counter(serial, metric, per_quarter, n=QUARTERS):
    """Register readings at :07 of each quarter hour (and one before the first)."""
    value = 1000.0
    items = [{"device": serial, "metric": metric, "ts": START - timedelta(minutes=8), "value": value}]
    for q in range(n):
        value += per_quarter
        items.append({"device": serial, "metric": metric, "ts": START + timedelta(minutes=15 * q + 7),
                      "value": value})
    return items


def meter(site, *, producer=1.0, c1=0.5, c2=1.0):
    from iot.ingest.service import ingest
    from iot.rollups.service import rollup_run
    from iot.testing.registry import make_device

    items = []
    for name, point, metric, per_q in (("P", site.p1, "energy_export_kwh", producer),
                                       ("C1", site.c1, "energy_import_kwh", c1),
                                       ("C2", site.c2, "energy_import_kwh", c2)):
        device, _ = make_device(f"ALLOC-{site.community.regime}-{name}", metering_point=point,
                                expected_interval_s=900)
        items += counter(device.serial, metric, per_q)
    ingest(items, source="import")
    rollup_run()


def official(site, *, producer=1.0, c1=0.5, c2=1.0):
    """The operator's official curves (they take precedence over our meters)."""
    from settlement.models import OfficialReading

    rows = []
    for q in range(QUARTERS):
        at = START + timedelta(minutes=15 * q)
        rows += [OfficialReading(metering_point=site.p1, interval_start=at, injection_kwh=producer),
                 OfficialReading(metering_point=site.c1, interval_start=at, withdrawal_kwh=c1),
                 OfficialReading(metering_point=site.c2, interval_start=at, withdrawal_kwh=c2)]
    OfficialReading.objects.bulk_create(rows)


def draft(client, site):
    return client.post(URL, {"community": site.community.pk, "month": "2025-03"}, format="json")


def kwh(line) -> Decimal:
    return Decimal(str(line["energy_kwh"]))


def lines(body, kind):
    return {line["membership"]: line for line in body["lines"] if line["kind"] == kind}


def test_a_french_acc_month_default_dynamic_valued_at_the_supply_price(fr, world, as_user):
    from communities.models import Configuration
    from pricing.models import Tariff

    Configuration.objects.create(community=fr.community, name="ACC", valid_from=date(2025, 1, 1),
                                 allocation_key="pro_rata")
    Tariff.objects.create(community=fr.community, name="Base", kind="flat", flat_eur_per_kwh=Decimal("0.20"),
                          valid_from=date(2025, 1, 1))
    official(fr)
    resp = draft(as_user(world.a.referent), fr)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["data_quality"]["interval_minutes"] == 15 and body["data_quality"]["intervals"] == QUARTERS
    # each quarter: 1 kWh for 0.5 + 1.0 -> 1/3 and 2/3; the month: 990.667 and 1981.333 kWh
    allocated = lines(body, "fr_acc_allocated")
    assert kwh(allocated[fr.m1.pk]) == pytest.approx(Decimal(QUARTERS) / 3, abs=Decimal("0.001"))
    assert kwh(allocated[fr.m2.pk]) == pytest.approx(Decimal(QUARTERS) * 2 / 3, abs=Decimal("0.001"))
    # valued at 0.20 EUR/kWh, rounded once: 198.1333 -> 198.13, 396.2667 -> 396.27
    value = lines(body, "fr_acc_supply_value")
    assert (Decimal(value[fr.m1.pk]["amount"]), Decimal(value[fr.m2.pk]["amount"])) == (
        Decimal("198.13"), Decimal("396.27"))
    assert "fr_acc_surplus" not in {line["kind"] for line in body["lines"]}


def test_a_french_acc_month_with_imported_simple_shares(fr, world, as_user):
    from communities.models import Configuration

    Configuration.objects.create(community=fr.community, name="ACC", valid_from=date(2025, 1, 1),
                                 allocation_key="dynamic")
    # the first quarter hour only: C1 60 %, C2 40 % of 1 kWh -> 0.5 (cap) and 0.4, surplus 0.1;
    # the other quarters have no shares: everything is surplus
    csv = ("interval_start,consumer,producer,share\n"
           f"2025-03-01T00:00:00+01:00,{FR['c1']},,0.6\n2025-03-01T00:00:00+01:00,{FR['c2']},,0.4\n").encode()
    assert upload(as_user(world.a.referent), fr, csv).status_code == 200
    official(fr)
    body = draft(as_user(world.a.referent), fr).json()
    allocated = lines(body, "fr_acc_allocated")
    assert kwh(allocated[fr.m1.pk]) == pytest.approx(Decimal("0.5"))
    assert kwh(allocated[fr.m2.pk]) == pytest.approx(Decimal("0.4"))
    surplus = lines(body, "fr_acc_surplus")[fr.mp.pk]
    assert kwh(surplus) == pytest.approx(Decimal(QUARTERS) - Decimal("0.9"), abs=Decimal("0.001"))


def test_an_austrian_eeg_month_with_factors_and_grid_fee_savings(at, world, as_user):
    at.m1.network_level = 7
    at.m1.save()
    at.m2.participation_factor_pct, at.m2.network_level = Decimal("50"), 5
    at.m2.save()
    at.community.eeg_scope = "regional"
    at.community.save()
    meter(at)
    resp = draft(as_user(world.a.referent), at)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    # each quarter: 1 kWh for 0.5 + 1.0 x 50 % -> 0.5 and 0.5: 1486 kWh each in the month;
    # regional: level 7 1486 x 0.055 x 0.28 = 22.8844 -> 22.88; level 5 1486 x 0.015 x 0.64 = 14.2656 -> 14.27
    saving = lines(body, "at_eeg_fee_saving")
    assert kwh(saving[at.m1.pk]) == pytest.approx(Decimal("1486"), abs=Decimal("0.001"))
    assert (Decimal(saving[at.m1.pk]["amount"]), Decimal(saving[at.m2.pk]["amount"])) == (
        Decimal("22.88"), Decimal("14.27"))
    assert saving[at.m2.pk]["detail"]["network_level"] == 5
    again = draft(as_user(world.a.referent), at)
    assert again.json()["result_hash"] == body["result_hash"] and again.json()["id"] == body["id"]


def test_settle_command_drafts_approves_and_posts_a_french_month(fr, world, capsys):
    """`manage.py settle --post`: the French lines are energy and valuations, not payments:
    the run posts and moves no money through the ledger."""
    import json

    from django.core.management import call_command

    from billing.models import Posting
    from communities.models import Configuration
    from settlement.models import SettlementLine

    Configuration.objects.create(community=fr.community, name="ACC", valid_from=date(2025, 1, 1),
                                 allocation_key="static",
                                 static_shares={str(fr.m1.pk): 0.25, str(fr.m2.pk): 0.75})
    official(fr)
    postings = Posting.objects.count()
    call_command("settle", "--community", fr.community.slug, "--month", "2025-03", "--post",
                 "--as", world.a.referent.email)
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "posted"
    # static 25/75 of 1 kWh: C1 0.25 (of its 0.5), C2 0.75 (of its 1.0) each quarter
    allocated = SettlementLine.objects.filter(kind="fr_acc_allocated")
    got = {line.membership_id: line.energy_kwh for line in allocated}
    assert got[fr.m1.pk] == pytest.approx(Decimal(QUARTERS) / 4, abs=Decimal("0.001"))
    assert got[fr.m2.pk] == pytest.approx(Decimal(QUARTERS) * 3 / 4, abs=Decimal("0.001"))
    assert Posting.objects.count() == postings
