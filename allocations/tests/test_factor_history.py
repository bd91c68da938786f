"""Austria: participation factors with a dated history (EAG §79; issue 10). A change applies
from its day's first quarter hour (the community's time zone); the settlement feeds the
version in force per quarter hour to `energy_rules.at_eeg`; each version keeps the person's
factors at most 100 %. And France's / Austria's keys per statute segment. Hand-computed."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.db import IntegrityError, transaction

from allocations.tests.test_settlement_regimes import DIRS, INJ, START
from allocations.tests.test_settlement_run import QUARTERS, draft, kwh, lines, meter
from communities.models import Membership, ParticipationFactor
from communities.services import membership_factor_change
from conftest import make_user
from core.exceptions import Conflict, Invalid
from energy_rules.figures import default_params
from settlement.regimes import REGIMES
from settlement.regimes.base import PointInfo, SettlementInputs, Statute, StatuteSegment

pytestmark = pytest.mark.django_db
URL = "/api/v1/communities/{}/members/{}/participation-factors"


def vienna(*args, zone="Europe/Vienna") -> datetime:
    """A local wall time (aware) in `zone`: a version's bound as the service stores it."""
    return datetime(*args, tzinfo=ZoneInfo(zone))


def test_a_factor_changed_on_the_10th_applies_from_that_quarter_hour(at, world, as_user):
    """Every quarter hour of March 2025 (Vienna): producer 1 kWh, C1 0.5, C2 1.0, dynamic key.
    C2 at 100 % until the 10th: 0.5 + 1.0 = 1.5 counted -> C1 1/3, C2 2/3 of 1 kWh;
    from the 10th (00:00 Vienna = 23:00 UTC on the 9th) C2 at 50 %: 0.5 + 0.5 = 1.0 ->
    C1 0.5, C2 0.5. 9 days x 96 = 864 quarters before, 2972 - 864 = 2108 after:
    C1 864/3 + 2108 x 0.5 = 288 + 1054 = 1342 kWh; C2 864 x 2/3 + 1054 = 576 + 1054 = 1630.
    Grid-fee saving, local, level 7 (0.055 EUR/kWh, 57 %): C1 1342 x 0.055 x 0.57 = 42.0717
    -> 42.07; C2 1630 x 0.055 x 0.57 = 51.1005 -> 51.10. The current factor alone (50 %)
    would have given 1486 kWh each."""
    for m in (at.m1, at.m2):
        m.network_level = 7
        m.save()
    meter(at)
    resp = as_user(world.a.referent).post(URL.format(at.community.pk, at.m2.pk),
                                          {"participation_factor_pct": "50", "valid_from": "2025-03-10"},
                                          format="json")
    assert resp.status_code == 201, resp.content
    at.m2.refresh_from_db()
    assert at.m2.participation_factor_pct == Decimal("50")  # the current value follows the history
    history = as_user(world.a.referent).get(URL.format(at.community.pk, at.m2.pk)).json()
    assert [(v["factor_pct"], v["valid_from"], v["valid_to"]) for v in history] == [
        ("100.00", "2025-01-01T00:00:00+01:00", "2025-03-10T00:00:00+01:00"),
        ("50.00", "2025-03-10T00:00:00+01:00", None)]
    body = draft(as_user(world.a.referent), at).json()
    assert body["data_quality"]["blocking"] == []
    allocated = lines(body, "at_eeg_allocated")
    assert kwh(allocated[at.m1.pk]) == pytest.approx(Decimal("1342"), abs=Decimal("0.001"))
    assert kwh(allocated[at.m2.pk]) == pytest.approx(Decimal("1630"), abs=Decimal("0.001"))
    saving = lines(body, "at_eeg_fee_saving")
    assert (Decimal(saving[at.m1.pk]["amount"]), Decimal(saving[at.m2.pk]["amount"])) == (
        Decimal("42.07"), Decimal("51.10"))
    # moved to the 11th: other inputs, another hash
    ParticipationFactor.objects.filter(membership=at.m2).delete()
    membership_factor_change(actor=None, membership=at.m2, participation_factor_pct=Decimal("100"),
                             valid_from=date(2025, 1, 1))
    membership_factor_change(actor=None, membership=at.m2, participation_factor_pct=Decimal("50"),
                             valid_from=date(2025, 3, 11))
    again = draft(as_user(world.a.referent), at).json()
    assert again["inputs_hash"] != body["inputs_hash"]
    assert kwh(lines(again, "at_eeg_allocated")[at.m1.pk]) == pytest.approx(
        Decimal(960 / 3 + (QUARTERS - 960) / 2), abs=Decimal("0.001"))


def test_versions_never_overlap(at, world, as_user):
    client = as_user(world.a.referent)
    url = URL.format(at.community.pk, at.m2.pk)
    assert client.post(url, {"participation_factor_pct": "60", "valid_from": "2025-03-10"},
                       format="json").status_code == 201
    # a second change the same day: at most one a day (DOMAIN.md)
    res = client.post(url, {"participation_factor_pct": "70", "valid_from": "2025-03-10"}, format="json")
    assert res.status_code == 409 and "valid_from" in res.json()["details"]
    # a change dated between two versions ends where the next one starts
    assert client.post(url, {"participation_factor_pct": "80", "valid_from": "2025-02-01"},
                       format="json").status_code == 201
    versions = list(ParticipationFactor.objects.filter(membership=at.m2).values_list(
        "factor_pct", "valid_from", "valid_to"))
    assert versions == [(Decimal("100"), vienna(2025, 1, 1), vienna(2025, 2, 1)),
                        (Decimal("80"), vienna(2025, 2, 1), vienna(2025, 3, 10)),
                        (Decimal("60"), vienna(2025, 3, 10), None)]
    at.m2.refresh_from_db()
    assert at.m2.participation_factor_pct == Decimal("60")  # the open version, not the later-recorded one
    # the database refuses overlapping versions whoever writes them
    with pytest.raises(IntegrityError), transaction.atomic():
        ParticipationFactor.objects.create(membership=at.m2, factor_pct=10, valid_from=vienna(2025, 3, 1),
                                           valid_to=vienna(2025, 3, 20))
    # before joining, or outside Austria: invalid
    res = client.post(url, {"participation_factor_pct": "60", "valid_from": "2024-12-31"}, format="json")
    assert res.status_code == 400 and "valid_from" in res.json()["details"]


def test_the_100_percent_rule_holds_per_version(at, world):
    """A person at 60 % in this community from March: another community may take 40 % then,
    and 50 % only where this one is below 50 %."""
    other = world.b.community
    other.regime = "at_eeg"
    other.save()
    person = make_user("multi-factor@example.com")
    here = Membership.objects.create(user=person, community=at.community, joined_at=date(2025, 1, 1),
                                     participation_factor_pct=Decimal("40"))
    ParticipationFactor.objects.create(membership=here, factor_pct=Decimal("40"),
                                       valid_from=vienna(2025, 1, 1))
    there = Membership.objects.create(user=person, community=other, joined_at=date(2025, 1, 1),
                                      participation_factor_pct=Decimal("50"))
    ParticipationFactor.objects.create(membership=there, factor_pct=Decimal("50"),
                                       valid_from=vienna(2025, 1, 1, zone=other.time_zone))
    membership_factor_change(actor=None, membership=there, participation_factor_pct=Decimal("40"),
                             valid_from=date(2025, 3, 1))
    with pytest.raises(Invalid) as exc:  # 60 + 50 in February
        membership_factor_change(actor=None, membership=here, participation_factor_pct=Decimal("60"),
                                 valid_from=date(2025, 2, 1))
    assert "2025-02-01" in exc.value.details["participation_factor_pct"][0]
    membership_factor_change(actor=None, membership=here, participation_factor_pct=Decimal("60"),
                             valid_from=date(2025, 3, 1))
    # raising the other back to 50 % from April would break March's 60 % here
    with pytest.raises(Invalid):
        membership_factor_change(actor=None, membership=there, participation_factor_pct=Decimal("50"),
                                 valid_from=date(2025, 4, 1))
    with pytest.raises(Conflict):
        membership_factor_change(actor=None, membership=here, participation_factor_pct=Decimal("50"),
                                 valid_from=date(2025, 3, 1))


def test_members_see_their_history_and_outsiders_get_404(at, world, as_user):
    url = URL.format(at.community.pk, at.m2.pk)
    member = as_user(world.a.other_member)
    assert member.get(url).status_code == 200
    assert member.post(url, {"participation_factor_pct": "60", "valid_from": "2025-03-10"},
                       format="json").status_code == 403
    assert as_user(world.b.referent).get(url).status_code == 404


def _inputs(regime, segments, extra=None, t=2):
    points = [PointInfo(id=100 + i, membership_id=i + 1, user_id=11 + i, member_type="consumer", direction=d,
                        code=f"P{i}") for i, d in enumerate(DIRS)]
    return SettlementInputs(
        regime=regime, interval_starts=START + np.arange(t) * np.timedelta64(900, "s"), interval_minutes=15,
        points=points, withdrawal_kwh=np.array([[0, 0], [4, 4], [6, 6]], dtype=float),
        injection_kwh=np.asarray(INJ, dtype=float), plants=[], zonal_eur_per_mwh=np.zeros(t),
        statute=segments[-1].statute, params=default_params(regime), extra=extra or {},
        statute_segments=segments)


@pytest.mark.parametrize("regime", ["fr_acc", "at_eeg"])
def test_each_statute_segment_applies_its_own_key(regime):
    """Quarter 1 static 50/50 (consumers 2, 3: 5 offered each, 2 takes 4: 1 surplus), quarter
    2 pro rata (10 over 4 + 6 = 10: 4 and 6). Allocated lines per key, each naming its
    configuration; Austria with consumer 3 at 50 % in quarter 2 only ((N, T) factors):
    quarter 2 counts 4 + 3 = 7 -> 4 and 3, 3 surplus."""
    static = Statute(Decimal(0), Decimal(100), Decimal(0), "static", {"2": 0.5, "3": 0.5})
    dynamic = Statute(Decimal(0), Decimal(100), Decimal(0), "pro_rata")
    segments = [StatuteSegment(static, 0, 1, 7, date(2025, 1, 1), date(2025, 3, 1)),
                StatuteSegment(dynamic, 1, 2, 8, date(2025, 3, 1), None)]
    factors = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 0.5]]) if regime == "at_eeg" else None
    res = REGIMES[regime](_inputs(regime, segments, {"participation_factors": factors} if regime == "at_eeg"
                                  else {}))
    second = [4, 3] if regime == "at_eeg" else [4, 6]
    assert np.allclose(res.allocated_kwh[1:], [[4, second[0]], [5, second[1]]])
    static_lines = {ln.membership_id: ln for ln in res.lines
                    if ln.rule.startswith(f"{regime}.allocated.static")}
    assert static_lines[2].energy_kwh == pytest.approx(4) and static_lines[3].energy_kwh == pytest.approx(5)
    assert [s["configuration"] for s in static_lines[2].detail["segments"]] == [7]
    # the producer's surplus, one line per key: static quarter 1, and Austria's quarter 2
    surplus = {ln.rule.split("@")[0]: ln.energy_kwh for ln in res.lines if ln.kind == f"{regime}_surplus"}
    expected = {f"{regime}.surplus.static": 1.0}
    if regime == "at_eeg":
        expected["at_eeg.surplus.dynamic"] = 3.0
    assert surplus == pytest.approx(expected)
    assert res.totals["key"] in ("static+dynamic", "static+default_dynamic")


def test_the_back_office_records_a_changed_factor_as_a_version(at, world):
    from django.test import Client

    from communities.tests.test_races import INLINE

    client = Client()
    client.force_login(world.admin)
    form = {"user": at.m2.user_id, "community": at.community.pk, "member_type": "consumer", "role": "member",
            "joined_at": "2025-01-01", "status": "active", **INLINE,
            "factor_versions-TOTAL_FORMS": "0", "factor_versions-INITIAL_FORMS": "0",
            "factor_versions-MIN_NUM_FORMS": "0", "factor_versions-MAX_NUM_FORMS": "1000"}
    res = client.post(f"/admin/communities/membership/{at.m2.pk}/change/",
                      {**form, "participation_factor_pct": "30", "factor_valid_from": "2025-03-10"})
    assert res.status_code == 302, res.content.decode()[:2000]
    at.m2.refresh_from_db()
    assert at.m2.participation_factor_pct == Decimal("30")
    assert list(ParticipationFactor.objects.filter(membership=at.m2).values_list(
        "factor_pct", "valid_from", "valid_to")) == [
            (Decimal("100"), vienna(2025, 1, 1), vienna(2025, 3, 10)),
            (Decimal("30"), vienna(2025, 3, 10), None)]
