"""A posted true-up becomes stale when a month of its year is corrected after it was
posted (the advances it subtracted changed): the API's `stale`, the back office's column and
the referent home's settlement card say it must be drafted again; drafting and posting it
again (a correcting true-up) clears it."""

import re
from datetime import timedelta

from django.test import Client

from settlement.curves import curves_import
from settlement.tests.conftest import START
from settlement.tests.test_true_up import URL, close_the_year, run_month, statement, true_up, upload


def _stale(client):
    return {r["id"]: r["stale"] for r in client.get(f"{URL}?kind=true_up").json()["items"]}


def _card(user, language="en") -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    html = client.get("/").content.decode()
    found = re.search(r'<section class="card" data-card="settlement">(.*?)</section>', html, re.S)
    return found.group(1) if found else ""


def _post(client, run_id):
    assert client.post(f"{URL}/{run_id}/approve").status_code == 200
    assert client.post(f"{URL}/{run_id}/post").json()["status"] == "posted"


def test_a_true_up_is_stale_once_a_month_of_its_year_is_corrected_after_it(settled, as_user):
    world, community = settled.world, settled.community
    referent = as_user(world.a.referent)
    close_the_year(settled, referent)
    upload(referent, community, statement("200.00", "20.00", "37.00"))
    first = true_up(referent, community).json()
    assert first["stale"] is False  # a draft is never stale
    _post(referent, first["id"])
    assert _stale(referent) == {first["id"]: False}
    assert "drafted again" not in _card(world.a.referent)
    # the grid operator corrects an hour of March: the consumer withdrew 5 kWh, not 1
    at = (START + timedelta(hours=10)).isoformat()
    assert (
        curves_import(
            actor=None,
            data=f"pod,interval_start,withdrawal_kwh,injection_kwh\nIT001E00000002,{at},5,\n".encode(),
        )["imported"]
        == 1
    )
    correction = run_month(referent, community, "2025-03")
    assert correction["kind"] == "correction"
    assert _stale(referent) == {first["id"]: True}
    assert referent.get(f"{URL}/{first['id']}").json()["stale"] is True
    assert as_user(world.a.member).get(f"{URL}/{first['id']}").json()["stale"] is True
    assert "The 2025 true-up must be drafted again" in _card(world.a.referent)
    assert "Il conguaglio 2025 va preparato di nuovo" in _card(world.a.referent, "it")
    assert as_user(world.b.referent).get(f"{URL}/{first['id']}").status_code == 404
    # back office: the column says it
    admin = Client()
    admin.force_login(world.a.referent)
    page = admin.get("/admin/settlement/settlementrun/?kind__exact=true_up").content.decode()
    assert 'alt="True"' in page
    # drafted again: a correcting true-up of the differences; once posted, nothing is stale
    again = true_up(referent, community)
    assert again.status_code == 201, again.content
    assert again.json()["corrects"] == first["id"]
    _post(referent, again.json()["id"])
    assert _stale(referent) == {first["id"]: False, again.json()["id"]: False}
    assert "drafted again" not in _card(world.a.referent)
