"""Austria's EDA import and the difference report against the platform's own allocation,
hand-computed (DOMAIN.md, "Austria: EEG")."""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from allocations.models import EdaValue
from allocations.tests.conftest import AT
from communities.models import Configuration

pytestmark = pytest.mark.django_db

T1, T2 = "2025-03-01T00:00:00+01:00", "2025-03-01T00:15:00+01:00"
# Dynamic key, C2 takes part with 50 %:
#  T1: P1 10 kWh; C1 8, C2 8 x 0.5 = 4 -> 10 x 8/12 = 6.666667, 10 x 4/12 = 3.333333, surplus 0
#  T2: P1 10; C1 2, C2 4 x 0.5 = 2 -> 2 and 2, surplus 6. The operator says C2 2.5 and P.01 5.5.
EDA = (
    "metering_point;interval_start;G.01;G.02;G.03;P.01\n"
    f"{AT['c1']};{T1};8;6,666667;6,666667;\n"
    f"{AT['c2']};{T1};8;3,333333;3,333333;\n"
    f"{AT['p1']};{T1};10;;;0\n"
    f"{AT['c1']};{T2};2;5;2;\n"
    f"{AT['c2']};{T2};4;5;2,5;\n"
    f"{AT['p1']};{T2};10;;;5,5\n"
).encode()


def upload(client, site, data):
    return client.post(f"/api/v1/communities/{site.community.pk}/eda-values",
                       {"file": SimpleUploadedFile("eda.csv", data)}, format="multipart")


def report(client, site, **params):
    query = {"from": "2025-03-01", "to": "2025-03-02", **params}
    return client.get(f"/api/v1/communities/{site.community.pk}/eda-report", query)


@pytest.fixture
def loaded(at, world, as_user):
    at.m2.participation_factor_pct = Decimal("50")
    at.m2.save()
    resp = upload(as_user(world.a.referent), at, EDA)
    assert resp.status_code == 200, resp.json()
    return at


def test_it_imports_eda_values_once(at, world, as_user):
    client = as_user(world.a.referent)
    assert upload(client, at, EDA).json()["created"] == 6
    again = upload(client, at, EDA).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 6)
    row = EdaValue.objects.get(metering_point=at.c2, interval_start="2025-02-28T23:15:00Z")
    assert row.measured_kwh == Decimal("4") and row.self_coverage_kwh == Decimal("2.5")
    assert row.surplus_kwh is None and row.community_share_kwh == Decimal("5")


@pytest.mark.parametrize("line, column", [
    (f"{AT['c1']};{T1};-1;;;", "G.01"),
    (f"{AT['c1']};{T1};;;;", "G.01"),
    (f"{AT['c1']};{T1};1;x;;", "G.02"),
    (f"{AT['c1']};{T1};1;;1.1234567;", "G.03"),
    (f"AT{'9' * 31};{T1};1;;;", "metering_point"),
    (f"{AT['c1']};2025-03-01T00:07:00+01:00;1;;;", "interval_start"),
])
def test_a_bad_eda_line_refuses_the_file(at, world, as_user, line, column):
    resp = upload(as_user(world.a.referent), at, EDA + line.encode() + b"\n")
    assert resp.status_code == 400
    assert any(m.startswith(f"line 8, {column}:") for m in resp.json()["details"]["file"]), resp.json()
    assert EdaValue.objects.count() == 0


def test_a_duplicate_row_is_refused(at, world, as_user):
    resp = upload(as_user(world.a.referent), at, EDA + f"{AT['c1']};{T1};1;;;\n".encode())
    assert resp.status_code == 400 and "twice" in resp.json()["details"]["file"][0]


def test_the_report_lists_where_the_operator_differs(loaded, world, as_user):
    body = report(as_user(world.a.referent), loaded).json()
    assert (body["intervals"], body["compared"], body["differing"]) == (2, 6, 2)
    diffs = [(d["metering_point"], d["quantity"], d["operator_kwh"], d["platform_kwh"], d["difference_kwh"])
             for d in body["differences"]]
    assert diffs == [(AT["c2"], "G.03", 2.5, 2.0, -0.5), (AT["p1"], "P.01", 5.5, 6.0, 0.5)]
    meters = {(m["metering_point"], m["quantity"]): m for m in body["meters"]}
    assert meters[(AT["c1"], "G.03")]["platform_kwh"] == pytest.approx(26 / 3, abs=1e-6)
    assert meters[(AT["c2"], "G.03")]["differing_intervals"] == 1


def test_a_wider_tolerance_hides_the_differences(loaded, world, as_user):
    assert report(as_user(world.a.referent), loaded, tolerance_kwh="0.5").json()["differing"] == 0


def test_the_report_follows_the_static_key(loaded, world, as_user):
    # static 50/50: T1 offers 5 and 5 -> C1 5, C2 min(4, 5) = 4 (1 unused -> surplus);
    # T2 offers 5 and 5 -> 2 and 2, surplus 6.
    Configuration.objects.filter(community=loaded.community).update(
        allocation_key="static", static_shares={str(loaded.m1.pk): 0.5, str(loaded.m2.pk): 0.5})
    body = report(as_user(world.a.referent), loaded).json()
    got = {(d["metering_point"], d["interval_start"][11:16]): d["platform_kwh"] for d in body["differences"]}
    assert got[(AT["c1"], "23:00")] == 5.0 and got[(AT["c2"], "23:00")] == 4.0
    assert got[(AT["p1"], "23:00")] == 1.0


def test_the_report_is_for_managers_of_the_community(loaded, world, as_user):
    assert report(as_user(world.b.referent), loaded).status_code == 404
    assert report(as_user(world.a.member), loaded).status_code == 403
    assert report(as_user(world.a.vendor), loaded).status_code == 200


@pytest.mark.parametrize("params, field", [
    ({"from": "x"}, "from"), ({"to": "2025-02-01"}, "to"), ({"tolerance_kwh": "-1"}, "tolerance_kwh"),
    ({"tolerance_kwh": "NaN"}, "tolerance_kwh"),
])
def test_bad_report_parameters_are_400(loaded, world, as_user, params, field):
    resp = report(as_user(world.a.referent), loaded, **params)
    assert resp.status_code == 400 and field in resp.json()["details"]


def test_the_commands_import_and_report(at, tmp_path, capsys):
    at.m2.participation_factor_pct = Decimal("50")
    at.m2.save()
    path = tmp_path / "eda.csv"
    path.write_bytes(EDA)
    call_command("eda_import", str(path), "--community", at.community.slug, "--json")
    assert json.loads(capsys.readouterr().out)["created"] == 6
    call_command("eda_import", str(path), "--community", at.community.slug)
    assert "6 unchanged" in capsys.readouterr().out
    call_command("eda_report", "--community", at.community.slug, "--from", "2025-03-01", "--to", "2025-03-02")
    assert json.loads(capsys.readouterr().out)["differing"] == 2
    path.write_bytes(b"metering_point,interval_start\n")
    with pytest.raises(CommandError):
        call_command("eda_import", str(path), "--community", at.community.slug)
    assert "Missing columns: g01" in capsys.readouterr().err


def test_the_admin_imports_eda_values(at, world, client):
    from allocations.tests.test_allocation_keys_import import admin_login

    admin_login(client, world.a.vendor)
    page = "/admin/allocations/edavalue/import/"
    assert "Import EDA allocations" in client.get("/admin/allocations/edavalue/").content.decode()
    first = client.post(page, {"community": at.community.pk, "file": SimpleUploadedFile("eda.csv", EDA)})
    assert first.status_code == 200 and "6 created" in first.content.decode()
    again = client.post(page, {"community": at.community.pk, "file": SimpleUploadedFile("eda.csv", EDA)})
    assert "6 unchanged" in again.content.decode()
    bad = client.post(page, {"community": at.community.pk,
                             "file": SimpleUploadedFile("eda.csv", EDA.replace(b";10;;;5,5", b";-10;;;5,5"))})
    assert bad.status_code == 400 and "line 7, G.01" in bad.content.decode()
    assert EdaValue.objects.count() == 6
    admin_login(client, world.b.vendor)
    other = client.post(page, {"community": at.community.pk, "file": SimpleUploadedFile("eda.csv", EDA)})
    assert other.status_code == 400  # not a community this vendor manages
