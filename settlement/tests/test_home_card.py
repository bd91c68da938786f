"""The referent home's settlement card: the last run of the community, what it brought and
whether it awaits the referent; nothing of it for another community's referent."""

import re

from django.test import Client

URL = "/api/v1/billing/settlements"


def _home(user, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _card(html: str) -> str:
    found = re.search(r'<section class="card" data-card="settlement">(.*?)</section>', html, re.S)
    return found.group(1) if found else ""


def test_the_referent_sees_the_run_awaiting_them_then_what_it_brought(settled, as_user):
    referent = settled.world.a.referent
    assert _card(_home(referent)) == ""  # no run yet: no card
    api = as_user(referent)
    drafted = api.post(URL, {"community": settled.community.pk, "month": "2025-03"}, format="json")
    run_id = drafted.json()["id"]
    card = _card(_home(referent))
    assert "156.67" in card and "draft, awaiting your approval" in card
    assert "1 run(s) awaiting a decision" in card
    assert f"/admin/settlement/settlementrun/{run_id}/change/" in card
    api.post(f"{URL}/{run_id}/approve")
    api.post(f"{URL}/{run_id}/post")
    card = _card(_home(referent, "it"))
    assert "156,67" in card and "contabilizzato" in card and "in attesa" not in card
    # another community's referent sees no card of this community
    assert _card(_home(settled.world.b.referent)) == ""
