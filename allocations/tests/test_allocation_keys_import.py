"""France's allocation keys import: the API, the admin and `manage.py allocation_keys_import`
(idempotent, all-or-nothing, bad files 400 with the line and column, scoped)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from allocations.models import AllocationShare
from allocations.tests.conftest import FR
from conftest import PASSWORD

pytestmark = pytest.mark.django_db

GOOD = (
    "interval_start,consumer,producer,share\n"
    f"2025-03-01T00:00:00+01:00,{FR['c1']},,0.6\n"
    f"2025-03-01T00:00:00+01:00,{FR['c2']},,0.4\n"
    f"2025-03-01T00:15:00+01:00,{FR['c1']},{FR['p1']},0.25\n"
    f"2025-03-01T00:15:00+01:00,{FR['c2']},{FR['p1']},0.75\n"
).encode()


def url(site):
    return f"/api/v1/communities/{site.community.pk}/allocation-keys"


def upload(client, site, data, name="keys.csv"):
    return client.post(url(site), {"file": SimpleUploadedFile(name, data)}, format="multipart")


def test_it_imports_simple_and_full_dynamic_shares_once(fr, world, as_user):
    client = as_user(world.a.referent)
    first = upload(client, fr, GOOD)
    assert first.status_code == 200, first.json()
    assert first.json().items() >= {"created": 4, "updated": 0, "unchanged": 0, "intervals": 2}.items()
    again = upload(client, fr, GOOD)
    assert again.json().items() >= {"created": 0, "updated": 0, "unchanged": 4}.items()
    changed = upload(client, fr, GOOD.replace(b",,0.6\n", b",,0.5\n"))
    assert changed.json().items() >= {"created": 0, "updated": 1, "unchanged": 3}.items()
    simple = AllocationShare.objects.filter(producer__isnull=True).order_by("consumer__code")
    assert [str(s.share) for s in simple] == ["0.50000000", "0.40000000"]
    full = AllocationShare.objects.get(producer=fr.p1, consumer=fr.c2)
    assert full.interval_start.isoformat() == "2025-02-28T23:15:00+00:00" and str(full.share) == "0.75000000"


@pytest.mark.parametrize("line, column", [
    (f"2025-03-01T00:00:00+01:00,{FR['c1']},,1.5", "share"),
    (f"2025-03-01T00:00:00+01:00,{FR['c1']},,abc", "share"),
    (f"2025-03-01T00:00:00,{FR['c1']},,0.5", "interval_start"),          # no offset
    (f"2025-03-01T00:05:00+01:00,{FR['c1']},,0.5", "interval_start"),    # off the quarter hour
    ("2025-03-01T00:00:00+01:00,99999999999999,,0.5", "consumer"),       # not in the community
    (f"2025-03-01T00:00:00+01:00,{FR['p1']},,0.5", "consumer"),          # an injection point
    (f"2025-03-01T00:00:00+01:00,{FR['c1']},{FR['c2']},0.5", "producer"),  # a withdrawal point
])
def test_a_bad_line_refuses_the_whole_file(fr, world, as_user, line, column):
    data = GOOD + line.encode() + b"\n"
    resp = upload(as_user(world.a.referent), fr, data)
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"] == "ValidationError"
    assert any(m.startswith(f"line 6, {column}:") for m in body["details"]["file"]), body
    assert AllocationShare.objects.count() == 0


def test_shares_over_one_with_the_stored_ones_are_refused(fr, world, as_user):
    client = as_user(world.a.referent)
    assert upload(client, fr, GOOD).status_code == 200
    more = ("interval_start,consumer,producer,share\n"
            f"2025-03-01T00:00:00+01:00,{FR['c2']},,0.5\n").encode()  # 0.6 stored + 0.5
    resp = upload(client, fr, more)
    assert resp.status_code == 400 and "more than 1" in resp.json()["details"]["file"][0]
    assert str(AllocationShare.objects.get(consumer=fr.c2, producer__isnull=True).share) == "0.40000000"


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\xff\xfe\x00", "UTF-8"),
    (b"when,who\n1,2\n", "Missing columns"),
    (b"interval_start,consumer,share\n", "no data rows"),
])
def test_unreadable_files_are_400(fr, world, as_user, data, message):
    resp = upload(as_user(world.a.referent), fr, data)
    assert resp.status_code == 400 and message in resp.json()["message"]


def test_scope_other_tenant_404_member_403_wrong_regime_400(fr, world, as_user):
    assert upload(as_user(world.b.referent), fr, GOOD).status_code == 404
    assert upload(as_user(world.a.member), fr, GOOD).status_code == 403
    world.b.community.regime = "at_eeg"
    world.b.community.save()
    resp = as_user(world.b.referent).post(f"/api/v1/communities/{world.b.community.pk}/allocation-keys",
                                          {"file": SimpleUploadedFile("k.csv", GOOD)}, format="multipart")
    assert resp.status_code == 400 and "community" in resp.json()["details"]
    assert AllocationShare.objects.count() == 0


def test_the_command_imports_idempotently_and_refuses_a_bad_file(fr, tmp_path, capsys):
    good = tmp_path / "keys.csv"
    good.write_bytes(GOOD)
    call_command("allocation_keys_import", str(good), "--community", fr.community.slug)
    assert "4 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    call_command("allocation_keys_import", str(good), "--community", str(fr.community.pk))
    assert "0 created, 0 updated, 4 unchanged" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(GOOD.replace(b"0.25", b"2"))
    with pytest.raises(CommandError):
        call_command("allocation_keys_import", str(bad), "--community", fr.community.slug)
    assert "line 4, share" in capsys.readouterr().err
    assert AllocationShare.objects.count() == 4
    with pytest.raises(CommandError, match="No community"):
        call_command("allocation_keys_import", str(good), "--community", "nope")


def admin_login(client, user):
    resp = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert resp.status_code == 302
    return client


ADMIN_IMPORT = "/admin/allocations/allocationshare/import/"


def test_the_admin_imports_for_a_managed_community_only(fr, world, client):
    admin_login(client, world.a.referent)
    listing = client.get("/admin/allocations/allocationshare/").content.decode()
    assert "Import French allocation keys" in listing
    form = {"community": fr.community.pk}
    resp = client.post(ADMIN_IMPORT, {**form, "file": SimpleUploadedFile("k.csv", GOOD)})
    assert resp.status_code == 200 and "4 created" in resp.content.decode()
    resp = client.post(ADMIN_IMPORT, {**form, "file": SimpleUploadedFile("k.csv", GOOD)})
    assert "4 unchanged" in resp.content.decode()
    bad = client.post(ADMIN_IMPORT, {"community": fr.community.pk,
                                     "file": SimpleUploadedFile("k.csv", GOOD.replace(b"0.75", b"x"))})
    assert bad.status_code == 400 and "line 5, share" in bad.content.decode()
    assert AllocationShare.objects.count() == 4


def test_the_admin_form_offers_no_community_out_of_hand(fr, world, client):
    world.b.community.regime = "fr_acc"
    world.b.community.save()
    admin_login(client, world.a.referent)
    resp = client.post(ADMIN_IMPORT, {"community": world.b.community.pk,
                                      "file": SimpleUploadedFile("k.csv", GOOD)})
    assert resp.status_code == 400 and AllocationShare.objects.count() == 0
    assert world.b.community.name not in client.get(ADMIN_IMPORT).content.decode()


def test_the_errors_speak_italian_to_an_italian_client(fr, world, as_user):
    client = as_user(world.a.referent)
    resp = client.post(url(fr), {"file": SimpleUploadedFile("k.csv", GOOD.replace(b"0.75", b"x"))},
                       format="multipart", HTTP_ACCEPT_LANGUAGE="it")
    assert resp.status_code == 400
    assert resp.json()["details"]["file"] == ["riga 5, share: non è un numero"]
