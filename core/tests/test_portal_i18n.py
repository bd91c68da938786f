"""Language switch, back office branding and the map's tile setting, over HTTP."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def _login(user, **headers):
    client = Client(**headers)
    client.force_login(user)
    return client


def test_the_browser_language_picks_italian(world):
    html = _login(world.a.member, HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9").get("/").content.decode()
    assert '<html lang="it">' in html and "Questo mese" in html


def test_switching_language_in_the_profile_sticks_to_the_user(world):
    client = _login(world.a.member, HTTP_ACCEPT_LANGUAGE="en")
    resp = client.post("/i18n/language/", {"language": "it", "next": "/profile/"})
    assert resp.status_code == 302 and resp["Location"] == "/profile/"
    assert resp.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"
    world.a.member.refresh_from_db()
    assert world.a.member.preferences["language"] == "it"
    assert "Cambia lingua" in client.get("/profile/").content.decode()
    # another browser, English by default: the saved choice wins once logged in
    other = _login(world.a.member, HTTP_ACCEPT_LANGUAGE="en")
    resp = other.get("/")
    assert '<html lang="it">' in resp.content.decode()
    assert resp.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"


def test_the_language_switch_keeps_other_preferences(world):
    world.a.member.preferences = {"theme": "dark"}
    world.a.member.save()
    _login(world.a.member).post("/i18n/language/", {"language": "en"})
    world.a.member.refresh_from_db()
    assert world.a.member.preferences == {"theme": "dark", "language": "en"}


def test_the_language_switch_refuses_an_unknown_language_and_outside_redirects(world):
    client = _login(world.a.member)
    assert client.post("/i18n/language/", {"language": "xx"}).status_code == 404
    # attack: the switch must not be an open redirect
    resp = client.post("/i18n/language/", {"language": "en", "next": "https://evil.example/phish"})
    assert resp["Location"] == "/"
    assert client.get("/i18n/language/").status_code == 405


def test_the_javascript_catalogue_has_the_charts_words(world):
    js = Client(HTTP_ACCEPT_LANGUAGE="it").get("/i18n/catalog.js").content.decode()
    assert "Eccedenza della comunit" in js and "Ora locale" in js


def test_the_back_office_is_branded_and_lists_the_referents_communities_first(world):
    html = _login(world.a.referent).get("/admin/").content.decode()
    assert "CommonWatt back office" in html and "Django administration" not in html
    mine = html.index('id="my-communities"')
    assert mine < html.index('class="app-')  # before the apps' modules
    assert "Community a" in html and "Community b" not in html
    italian = _login(world.a.referent, HTTP_ACCEPT_LANGUAGE="it").get("/admin/").content.decode()
    assert "Back office CommonWatt" in italian and "Le tue comunità" in italian


def test_the_map_uses_the_tile_server_of_the_setting(world):
    client = _login(world.a.member)
    page = client.get(f"/community/{world.a.community.pk}/").content.decode()
    assert "data-tiles" not in page  # none configured: shapes only
    with override_settings(MAP_TILE_URL="https://tiles.example/{z}/{x}/{y}.png"):
        page = client.get(f"/community/{world.a.community.pk}/").content.decode()
    assert 'data-tiles="https://tiles.example/{z}/{x}/{y}.png"' in page
    assert "OpenStreetMap" in page  # the attribution


def test_the_apis_own_messages_follow_the_language(world):
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="it").get("/api/v1/dashboard").json()
    assert anonymous["error"] == "NotAuthenticated"
    assert "credenziali" in anonymous["message"].lower()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/dashboard").json()
    assert "credentials" in english["message"].lower()


def test_the_error_page_is_italian(world):
    resp = _login(world.a.member, HTTP_ACCEPT_LANGUAGE="it").get("/no-such-page/")
    assert resp.status_code == 404 and "Pagina non trovata." in resp.content.decode()


def test_the_api_answers_its_messages_in_the_callers_language(world, api):
    """The `message` of an API error follows Accept-Language (issue 11); the machine-readable
    `error` and `details` do not change with it."""
    api.force_authenticate(world.a.member)
    body = {"name": "X", "slug": "x-lang"}
    english = api.post("/api/v1/communities", body, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    italian = api.post("/api/v1/communities", body, format="json", HTTP_ACCEPT_LANGUAGE="it").json()
    assert english["message"] == "Only administrators and vendors create communities."
    assert italian["message"] == "Solo amministratori e fornitori creano comunità."
    assert english["error"] == italian["error"] == "PermissionDenied"
    # the default message of a domain error, and DRF's own
    resp = api.get("/api/v1/simulation/00000000-0000-0000-0000-000000000000", HTTP_ACCEPT_LANGUAGE="it")
    assert resp.status_code == 404 and resp.json()["message"] == "Non trovato."
