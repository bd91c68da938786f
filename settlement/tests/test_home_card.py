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


def test_the_referents_incentive_so_far_is_the_settlements_own_figure(settled, as_user, monkeypatch):
    """The referent home's "incentive so far" is what the settlement's rules compute on the
    month to date: the TIP and valorisation lines of the month's draft, to the cent."""
    from datetime import date
    from decimal import Decimal

    from core import home

    monkeypatch.setattr(home, "_local_today", lambda tz: date(2025, 3, 31))
    referent = settled.world.a.referent
    html = _home(referent)
    raw = re.search(r'id="incentive" data-raw="([^"]+)"', html)
    assert raw, "no incentive figure on the referent home"
    api = as_user(referent)
    run = api.post(URL, {"community": settled.community.pk, "month": "2025-03"}, format="json").json()
    lines = api.get(f"{URL}/{run['id']}").json()["lines"]
    tip = sum(Decimal(line["amount"]) for line in lines if line["kind"] == "tip")
    valorisation = sum(Decimal(line["amount"]) for line in lines if line["kind"] == "valorisation")
    assert tip > 0 and valorisation > 0
    assert Decimal(raw.group(1)) == tip + valorisation
    assert ("settlement&#x27;s rules on the month so far" in html
            or "settlement's rules on the month so far" in html)
    # the draft now awaits the referent: the pending approvals count it, with a link to decide it
    html = _home(referent)
    assert re.search(r'data-fact="pending">\s*1\s*<', html)
    assert "1 settlement run awaiting a decision" in html
    assert "/admin/settlement/settlementrun/?status__exact=draft" in html
    # Italian: the same figure, the note translated
    html_it = _home(referent, "it")
    assert "regole della liquidazione sul mese finora" in html_it


def test_another_communitys_referent_sees_no_incentive_of_this_community(settled, monkeypatch):
    from datetime import date

    from core import home

    monkeypatch.setattr(home, "_local_today", lambda tz: date(2025, 3, 31))
    html = _home(settled.world.b.referent)
    assert settled.community.name not in html
