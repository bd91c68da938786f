"""Austria: a participation factor may change from any quarter hour (issue 10 leftovers). The
value is a day (its local midnight) or a local / offset date-time on the 15-minute grid in
the community's zone (Vienna here); what is off the grid, or a wall time a DST change skips
or repeats, is refused with a machine-readable error. At most one change per local day.
Through the API, the back office, the member import and a settlement run. Hand-computed."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from tablib import Dataset

from allocations.tests.test_settlement_run import QUARTERS, draft, kwh, lines, official
from communities.models import Membership, ParticipationFactor
from communities.resources import MembershipResource
from conftest import make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/communities/{}/members/{}/participation-factors"
VIENNA = ZoneInfo("Europe/Vienna")


def post(client, membership, factor, valid_from):
    return client.post(URL.format(membership.community_id, membership.pk),
                       {"participation_factor_pct": factor, "valid_from": valid_from}, format="json")


def versions(membership):
    return list(ParticipationFactor.objects.filter(membership=membership).order_by("valid_from")
                .values_list("factor_pct", "valid_from", "valid_to"))


def test_a_change_at_10_15_splits_the_day_in_the_settlement(at, world, as_user):
    """Every quarter hour of March 2025 (Vienna): producer 1 kWh, C1 0.5, C2 1.0, dynamic key.
    C2 goes from 100 % to 50 % at 10:15 Vienna on the 10th (09:15 UTC): the quarters before
    are 9 days x 96 + 41 (00:00-10:15) = 905, after 2972 - 905 = 2067.
    Before: 0.5 + 1.0 counted -> C1 1/3, C2 2/3 of 1 kWh; after: 0.5 + 0.5 -> 0.5 each.
    C1 905/3 + 2067/2 = 301.6667 + 1033.5 = 1335.1667 kWh; C2 603.3333 + 1033.5 = 1636.8333.
    Saving (local, level 7: 0.055 EUR/kWh x 57 % = 0.03135): C1 41.857... -> 41.86,
    C2 51.314... -> 51.31 (a change from the day's midnight gives 1342 / 1630 kWh, 42.07 /
    51.10 EUR; one from 10:00 gives 1335.3333 kWh for C1)."""
    for m in (at.m1, at.m2):
        m.network_level = 7
        m.save()
    official(at)
    res = post(as_user(world.a.referent), at.m2, "50", "2025-03-10T10:15")
    assert res.status_code == 201, res.content
    assert res.json()["valid_from"] == "2025-03-10T10:15:00+01:00" and res.json()["valid_to"] is None
    history = as_user(world.a.referent).get(URL.format(at.community.pk, at.m2.pk)).json()
    assert [(v["factor_pct"], v["valid_from"], v["valid_to"]) for v in history] == [
        ("100.00", "2025-01-01T00:00:00+01:00", "2025-03-10T10:15:00+01:00"),
        ("50.00", "2025-03-10T10:15:00+01:00", None)]
    body = draft(as_user(world.a.referent), at).json()
    assert body["data_quality"]["blocking"] == []
    allocated = lines(body, "at_eeg_allocated")
    assert kwh(allocated[at.m1.pk]) == pytest.approx(Decimal("1335.1667"), abs=Decimal("0.001"))
    assert kwh(allocated[at.m2.pk]) == pytest.approx(Decimal("1636.8333"), abs=Decimal("0.001"))
    assert kwh(allocated[at.m1.pk]) + kwh(allocated[at.m2.pk]) == pytest.approx(Decimal(QUARTERS),
                                                                                abs=Decimal("0.001"))
    saving = lines(body, "at_eeg_fee_saving")
    assert (Decimal(saving[at.m1.pk]["amount"]), Decimal(saving[at.m2.pk]["amount"])) == (
        Decimal("41.86"), Decimal("51.31"))
    # the lines record the configuration's segments as before: a factor change adds none
    assert [s["intervals"] for s in allocated[at.m1.pk]["detail"]["segments"]] == [[0, QUARTERS]]


def test_off_grid_ambiguous_and_skipped_times_are_refused(at, world, as_user):
    client = as_user(world.a.referent)
    cases = [("2025-03-10T10:20", "OffQuarterHour"), ("2025-03-10T10:15:30", "OffQuarterHour"),
             ("2025-03-10T10:15+01:07", "OffQuarterHour"),
             # 26 Oct 2025: 02:00-03:00 happens twice in Vienna; 30 Mar: 02:00-03:00 never
             ("2025-10-26T02:30", "AmbiguousLocalTime"), ("2025-03-30T02:15", "NonexistentLocalTime"),
             ("next tuesday", "BadDateTime"), ("2025-02-30", "BadDateTime"),
             ("0001-01-01T00:00+01:00", "BadDateTime")]  # before year 1 in UTC
    for value, error in cases:
        res = post(client, at.m2, "50", value)
        assert res.status_code == 400, (value, res.content)
        assert res.json()["error"] == error and res.json()["details"]["valid_from"], (value, res.json())
    assert "give its UTC offset" in post(client, at.m2, "50", "2025-10-26T02:30").json()["message"]
    assert not ParticipationFactor.objects.filter(membership=at.m2).exists()  # nothing written
    # the repeated hour with its offset names one instant: the second 02:30 (winter time)
    res = post(client, at.m2, "50", "2025-10-26T02:30+01:00")
    assert res.status_code == 201, res.content
    assert res.json()["valid_from"] == "2025-10-26T02:30:00+01:00"
    assert versions(at.m2)[-1][1] == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    # an offset or UTC value is read as that instant, shown in the community's zone
    res = post(client, at.m2, "40", "2025-06-01T08:45Z")
    assert res.status_code == 201 and res.json()["valid_from"] == "2025-06-01T10:45:00+02:00"


def test_at_most_one_change_per_local_day(at, world, as_user):
    """The second change on a local day that has one is refused (409), whatever the quarter
    hour; the next day is free. 23:45 Vienna on the 10th is the 10th there (22:45 UTC)."""
    client = as_user(world.a.referent)
    assert post(client, at.m2, "50", "2025-03-10T10:15").status_code == 201
    for value in ("2025-03-10T16:00", "2025-03-10", "2025-03-10T23:45+01:00", "2025-03-10T22:45Z"):
        res = post(client, at.m2, "70", value)
        assert res.status_code == 409 and res.json()["details"]["valid_from"], (value, res.content)
    assert post(client, at.m2, "70", "2025-03-11T00:00").status_code == 201
    # a change on the day the member joined is that day's second version
    assert post(client, at.m2, "70", "2025-01-01T12:00").status_code == 409
    assert versions(at.m2) == [
        (Decimal("100"), datetime(2025, 1, 1, tzinfo=VIENNA), datetime(2025, 3, 10, 10, 15, tzinfo=VIENNA)),
        (Decimal("50"), datetime(2025, 3, 10, 10, 15, tzinfo=VIENNA), datetime(2025, 3, 11, tzinfo=VIENNA)),
        (Decimal("70"), datetime(2025, 3, 11, tzinfo=VIENNA), None)]


def test_the_100_percent_rule_holds_for_every_quarter_hour_interval(at, world, as_user):
    """A person at 40 % here and 50 % in another EEG. The other goes to 40 % at 12:00 on the
    10th: 60 % here from 10:15 would make 110 % from 10:15 to 12:00 (refused, naming 10:15);
    from 12:00 it fits."""
    other = world.b.community
    other.regime, other.time_zone = "at_eeg", "Europe/Vienna"
    other.save()
    person = make_user("quarter-factor@example.com")
    here = Membership.objects.create(user=person, community=at.community, joined_at=date(2025, 1, 1),
                                     participation_factor_pct=Decimal("40"))
    there = Membership.objects.create(user=person, community=other, joined_at=date(2025, 1, 1),
                                      participation_factor_pct=Decimal("50"))
    assert post(as_user(world.b.referent), there, "40", "2025-03-10T12:00").status_code == 201
    client = as_user(world.a.referent)
    res = post(client, here, "60", "2025-03-10T10:15")
    assert res.status_code == 400
    assert "2025-03-10T10:15:00+01:00" in res.json()["details"]["participation_factor_pct"][0]
    assert post(client, here, "60", "2025-03-10T12:00").status_code == 201
    # and back: the other may not rise to 50 % at 13:00 the next day while this one is at 60 %
    res = post(as_user(world.b.referent), there, "50", "2025-03-11T13:00")
    assert res.status_code == 400 and "2025-03-11T13:00:00+01:00" in str(res.json()["details"])


def _admin_form(at, **extra):
    from communities.tests.test_races import INLINE

    return {"user": at.m2.user_id, "community": at.community.pk, "member_type": "consumer", "role": "member",
            "joined_at": "2025-01-01", "status": "active", **INLINE,
            "factor_versions-TOTAL_FORMS": "0", "factor_versions-INITIAL_FORMS": "0",
            "factor_versions-MIN_NUM_FORMS": "0", "factor_versions-MAX_NUM_FORMS": "1000", **extra}


def test_the_back_office_takes_a_quarter_hour_date_time(at, world):
    client = Client()
    client.force_login(world.admin)
    url = f"/admin/communities/membership/{at.m2.pk}/change/"
    res = client.post(url, _admin_form(at, participation_factor_pct="30",
                                       factor_valid_from="2025-03-10 10:20"))
    assert res.status_code == 200  # the form again, with the error on the field
    assert "quarter hour" in str(res.context["adminform"].form.errors["factor_valid_from"])
    res = client.post(url, _admin_form(at, participation_factor_pct="30",
                                       factor_valid_from="2025-10-26 02:15"))
    assert res.status_code == 200 and "factor_valid_from" in res.context["adminform"].form.errors
    assert not ParticipationFactor.objects.filter(membership=at.m2).exists()
    res = client.post(url, _admin_form(at, participation_factor_pct="30",
                                       factor_valid_from="2025-03-10 10:15"))
    assert res.status_code == 302, res.content.decode()[:2000]
    at.m2.refresh_from_db()
    assert at.m2.participation_factor_pct == Decimal("30")
    assert versions(at.m2) == [
        (Decimal("100"), datetime(2025, 1, 1, tzinfo=VIENNA), datetime(2025, 3, 10, 10, 15, tzinfo=VIENNA)),
        (Decimal("30"), datetime(2025, 3, 10, 10, 15, tzinfo=VIENNA), None)]
    page = client.get(url).content.decode()
    assert "2025-03-10T10:15:00+01:00" in page  # the history inline, in the community's zone


HEADER = ["community", "email", "full_name", "member_type", "role", "participation_factor_pct", "joined_at",
          "factor_valid_from"]


def _import(world, rows, headers=HEADER):
    data = Dataset(headers=headers)
    for row in rows:
        data.append(row)
    return MembershipResource().import_data(data, dry_run=False, use_transactions=True,
                                            rollback_on_validation_errors=True, user=world.a.referent)


def test_the_member_import_sets_the_factor_from_its_column(at, world):
    slug = at.community.slug
    # a bad file: the off-grid row and the DST row are reported, the good row is not written
    result = _import(world, [
        [slug, "other-a@example.com", "", "consumer", "member", "50", "", "2025-03-10T10:15"],
        [slug, "member-a@example.com", "", "prosumer", "member", "60", "", "2025-03-10T10:05"],
        [slug, "member-a@example.com", "", "prosumer", "member", "60", "", "2025-10-26T02:45"],
    ])
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3}
    assert "quarter hour" in str(invalid[2]["factor_valid_from"])
    assert "twice" in str(invalid[3]["factor_valid_from"])
    assert not ParticipationFactor.objects.exists()
    assert Membership.objects.get(pk=at.m2.pk).participation_factor_pct == Decimal("100")
    # a change before the member joined is that row's error too
    result = _import(world, [[slug, "other-a@example.com", "", "consumer", "member", "50", "", "2024-12-31"]])
    assert "factor_valid_from" in result.invalid_rows[0].error_dict
    # the good file
    result = _import(world, [
        [slug, "other-a@example.com", "", "consumer", "member", "50", "", "2025-03-10T10:15"],
        [slug, "member-a@example.com", "", "prosumer", "member", "60", "", "2025-03-12"],
    ])
    assert not result.has_validation_errors() and not result.has_errors()
    assert versions(at.m2)[-1] == (Decimal("50"), datetime(2025, 3, 10, 10, 15, tzinfo=VIENNA), None)
    assert versions(at.m1)[-1] == (Decimal("60"), datetime(2025, 3, 12, tzinfo=VIENNA), None)
    # without the column: from today (local midnight in Vienna)
    result = _import(world, [[slug, "other-a@example.com", "", "consumer", "member", "45", ""]], HEADER[:-1])
    assert not result.has_validation_errors()
    today = datetime.now(VIENNA).date()
    assert versions(at.m2)[-1] == (Decimal("45"), datetime(today.year, today.month, today.day, tzinfo=VIENNA),
                                   None)
