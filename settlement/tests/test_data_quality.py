"""Missing intervals and official curves: reported before approval, decided by the referent."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from settlement.models import OfficialReading, SettlementRun
from settlement.tests.conftest import START, make_settled

URL = "/api/v1/billing/settlements"


@pytest.fixture
def gappy(world):
    # the consumer's meter misses hours 10..12 (their energy lands in hour 13's bucket)
    return make_settled(world, skip_consumer={10, 11, 12})


def draft(client, community):
    return client.post(URL, {"community": community.pk, "month": "2025-03"}, format="json").json()


def test_missing_intervals_block_approval_until_the_referent_decides(gappy, as_user):
    referent = as_user(gappy.world.a.referent)
    body = draft(referent, gappy.community)
    (entry,) = body["data_quality"]["points"]
    assert entry["code"] == "IT001E00000002" and entry["missing_withdrawal"] == 3
    assert entry["decision"] is None and body["data_quality"]["blocking"]
    res = referent.post(f"{URL}/{body['id']}/approve")
    assert res.status_code == 409 and res.json()["error"] == "DataQuality"
    # wait: still blocked
    waited = referent.post(
        f"{URL}/{body['id']}/gaps",
        {"metering_point": gappy.consumer_point.pk, "decision": "wait"},
        format="json",
    ).json()
    assert waited["data_quality"]["blocking"] and waited["id"] == body["id"]
    # estimate, linear: a new draft supersedes the old one and can be approved
    est = referent.post(
        f"{URL}/{body['id']}/gaps",
        {"metering_point": gappy.consumer_point.pk, "decision": "estimate", "method": "linear"},
        format="json",
    )
    new = est.json()
    assert new["id"] != body["id"] and new["data_quality"]["blocking"] == []
    assert new["data_quality"]["points"][0]["method"] == "linear"
    assert SettlementRun.objects.get(pk=body["id"]).status == "superseded"
    assert referent.post(f"{URL}/{new['id']}/approve").json()["status"] == "approved"


def test_excluded_gaps_count_as_nothing_exchanged(gappy, as_user):
    referent = as_user(gappy.world.a.referent)
    run_id = draft(referent, gappy.community)["id"]
    res = referent.post(
        f"{URL}/{run_id}/gaps",
        {"metering_point": gappy.consumer_point.pk, "decision": "exclude"},
        format="json",
    ).json()
    assert res["data_quality"]["blocking"] == []
    # the 3 missing hours: 0 kWh; hour 13 carries the 4 kWh its bucket got (capped by 2 kWh injected)
    assert res["totals"]["shared_kwh"] == pytest.approx(743 * 1.5 - 3 * 1.0 + 0.5)


def test_a_member_cannot_decide_gaps(gappy, as_user):
    run_id = draft(as_user(gappy.world.a.referent), gappy.community)["id"]
    res = as_user(gappy.world.a.member).post(
        f"{URL}/{run_id}/gaps",
        {"metering_point": gappy.consumer_point.pk, "decision": "exclude"},
        format="json",
    )
    assert res.status_code == 403


def _csv(rows):
    return "pod;interval_start;withdrawal_kwh;injection_kwh\n" + "\n".join(
        ";".join(map(str, r)) for r in rows
    )


def test_official_curves_take_precedence_and_differences_are_reported(settled, as_user, tmp_path):
    # the operator measured 1,2 kWh (Italian decimal comma) in the first 5 hours, we 1.0
    rows = [("IT001E00000002", (START + timedelta(hours=h)).isoformat(), "1,2", "") for h in range(5)]
    rows.append(("IT001E99999999", START.isoformat(), "1", ""))  # unknown POD: refused
    path = tmp_path / "curves.csv"
    path.write_text(_csv(rows))
    out = StringIO()
    call_command("curves_import", str(path), stdout=out)
    result = json.loads(out.getvalue())
    assert result["imported"] == 5 and result["refused"] == [{"line": 7, "reason": "unknown metering point"}]
    call_command("curves_import", str(path), stdout=StringIO())  # idempotent
    assert OfficialReading.objects.count() == 5
    body = draft(as_user(settled.world.a.referent), settled.community)
    (entry,) = body["data_quality"]["points"]
    assert entry["differing_withdrawal"] == 5 and entry["official_intervals"] == 5
    assert body["totals"]["withdrawal_kwh"] == pytest.approx(743 * 1.5 + 5 * 0.2)


def test_curves_import_refuses_a_file_without_the_columns(tmp_path, db):
    path = tmp_path / "bad.csv"
    path.write_text("foo,bar\n1,2\n")
    with pytest.raises(CommandError):
        call_command("curves_import", str(path))
