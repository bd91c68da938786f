"""A statute changing within the month is applied per interval, not refused (issue 10): each
configuration version splits the money of the hours of its own validity; every member's
line sums its parts and is rounded once; the run hash covers the change date."""

from datetime import date
from decimal import Decimal

import pytest

from communities.models import Configuration
from settlement.tests.test_api import URL, amounts, draft

pytestmark = pytest.mark.django_db


def change_on(settled, day: date, **statute) -> Configuration:
    old = Configuration.objects.get(community=settled.community, valid_to__isnull=True)
    old.valid_to = day
    old.save(update_fields=["valid_to"])
    return Configuration.objects.create(community=settled.community, name="Statute 2", valid_from=day,
                                        **statute)


def by_kind(body, kind):
    return {(ln["membership"], ln["plant"]): ln for ln in body["lines"] if ln["kind"] == kind}


def test_a_statute_changing_on_the_15th_splits_the_month_and_is_approvable(settled, as_user):
    """Worked example (the month of test_api: 743 h, each hour 1.5 kWh shared, incentivised and
    self-consumed, worth 1.5 x (TIP 130 + TRAS_E 10.57) / 1000 = 0.210855 EUR; pool 156.67 from
    the unrounded 156.665265). Statute 55/40/5 until the 15th, then 70/25/5. The 15th starts
    at 00:00 in Rome = 23:00 UTC on the 14th: 14 x 24 = 336 hours under the first statute,
    407 under the second. The pool's parts by what each part's hours earned:
        156.67 x 336/743 = 70.849421..., 156.67 x 407/743 = 85.820578...
    producer (the plant's owner):  0.55 x 70.849421 + 0.70 x 85.820578 = 99.041586...
    consumers, by withdrawal 0.5 : 1.0 in every hour (the owner's point withdraws 0.5):
        owner  (0.40 x 70.849421 + 0.25 x 85.820578) / 3 = 16.598304...
        other  twice that                                 = 33.196608...
    fund   0.05 x 156.67 = 7.8335
    Floors 99.04 + 16.59 + 33.19 + 7.83 = 156.65: the two cents left go to the largest
    remainders (0.0083, 0.0066): 16.60 and 33.20. One statute for the whole month would
    have given 86.17 / 20.89 / 41.78 / 7.83 (test_api)."""
    change_on(settled, date(2025, 3, 15), producers_pct=70, consumers_pct=25, fund_pct=5)
    referent = as_user(settled.world.a.referent)
    body = draft(referent, settled.community).json()
    assert body["data_quality"]["blocking"] == []
    assert amounts(body, "gse_advance") == [Decimal("156.67")]
    owner, other = settled.producer_point.membership_id, settled.consumer_point.membership_id
    producer = by_kind(body, "producer_share")[(owner, settled.world.a.plant.pk)]
    consumers = by_kind(body, "consumer_share")
    assert Decimal(producer["amount"]) == Decimal("99.04")
    assert Decimal(consumers[(owner, None)]["amount"]) == Decimal("16.60")
    assert Decimal(consumers[(other, None)]["amount"]) == Decimal("33.20")
    assert amounts(body, "fund") == [Decimal("7.83")]
    # every line names the configurations its amount came from, with their parts
    first, second = producer["detail"]["segments"]
    assert (first["valid_to"], second["valid_from"]) == ("2025-03-15", "2025-03-15")
    assert (first["intervals"], second["intervals"]) == ([0, 336], [336, 743])
    assert (first["producers_pct"], second["producers_pct"]) == ("55.00", "70.00")
    assert (first["weight_kwh"], second["weight_kwh"]) == pytest.approx((336 * 1.5, 407 * 1.5))
    assert Decimal(first["exact_eur"]) + Decimal(second["exact_eur"]) == pytest.approx(Decimal("99.0415868"))
    assert "producers_pct" not in producer["detail"]  # two figures: only per segment
    assert referent.post(f"{URL}/{body['id']}/approve").status_code == 200


def test_the_run_hash_covers_the_change_date(settled, as_user):
    new = change_on(settled, date(2025, 3, 15), producers_pct=70, consumers_pct=25, fund_pct=5)
    referent = as_user(settled.world.a.referent)
    first = draft(referent, settled.community).json()
    old = Configuration.objects.get(community=settled.community, valid_to=date(2025, 3, 15))
    old.valid_to = new.valid_from = date(2025, 3, 16)
    new.save(update_fields=["valid_from"])  # the later one moves first: no overlap at any moment
    old.save(update_fields=["valid_to"])
    second = draft(referent, settled.community).json()
    assert second["id"] != first["id"] and second["inputs_hash"] != first["inputs_hash"]
    seg = by_kind(second, "fund")[(None, None)]["detail"]["segments"]
    assert seg[1]["intervals"] == [360, 743]  # 15 days x 24 h under the first statute
    # the first draft was superseded: approving it is refused, the new one approves
    assert referent.post(f"{URL}/{first['id']}/approve").status_code == 409
    assert referent.post(f"{URL}/{second['id']}/approve").status_code == 200


def test_days_without_any_configuration_block(settled, as_user):
    old = Configuration.objects.get(community=settled.community)
    old.valid_to = date(2025, 3, 10)
    old.save(update_fields=["valid_to"])
    Configuration.objects.create(community=settled.community, name="Later", valid_from=date(2025, 3, 20))
    body = draft(as_user(settled.world.a.referent), settled.community).json()
    assert any("from 2025-03-10 to 2025-03-20" in b for b in body["data_quality"]["blocking"])
