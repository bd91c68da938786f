"""The settlement back office through a real admin login: scoped, actions through the
services, posted runs immutable."""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import PASSWORD
from settlement import services
from settlement.models import OfficialReading, SettlementRun
from settlement.tests.conftest import MONTH, START

RUNS = "/admin/settlement/settlementrun/"


def login(client, user):
    resp = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert resp.status_code == 302, resp.content[:300]
    return client


def test_a_referent_approves_and_posts_through_the_admin(client, settled):
    run = services.settlement_draft(actor=None, community=settled.community, month=MONTH)
    login(client, settled.world.a.referent)
    page = client.get(f"{RUNS}{run.pk}/change/")
    assert page.status_code == 200 and "Producer share" in page.content.decode()
    client.post(RUNS, {"action": "approve_runs", "_selected_action": [run.pk]})
    client.post(RUNS, {"action": "post_runs", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.status == "posted" and run.posted_by == settled.world.a.referent
    # a posted run offers nothing to change or delete
    assert client.post(f"{RUNS}{run.pk}/change/", {"status": "draft"}).status_code == 403
    assert client.post(f"{RUNS}{run.pk}/delete/", {"post": "yes"}).status_code == 403
    run.refresh_from_db()
    assert run.status == "posted"


def test_the_admin_hides_other_communities_runs(client, settled):
    run = services.settlement_draft(actor=None, community=settled.community, month=MONTH)
    login(client, settled.world.b.referent)
    assert client.get(f"{RUNS}{run.pk}/change/").status_code in (302, 404)
    client.post(RUNS, {"action": "approve_runs", "_selected_action": [run.pk]})
    assert SettlementRun.objects.get(pk=run.pk).status == "draft"


def test_a_referent_imports_official_curves_only_for_their_points(client, settled):
    login(client, settled.world.b.referent)
    body = "pod,interval_start,withdrawal_kwh,injection_kwh\n" + "\n".join(
        f"IT001E00000002,{(START + timedelta(hours=h)).isoformat()},1.0," for h in range(3)
    )
    resp = client.post(
        "/admin/settlement/officialreading/import/", {"file": SimpleUploadedFile("c.csv", body.encode())}
    )
    assert resp.status_code == 200 and "0 readings imported" in resp.content.decode()
    assert OfficialReading.objects.count() == 0
    login(client, settled.world.a.referent)
    resp = client.post(
        "/admin/settlement/officialreading/import/", {"file": SimpleUploadedFile("c.csv", body.encode())}
    )
    assert "3 readings imported" in resp.content.decode()
    assert OfficialReading.objects.count() == 3
