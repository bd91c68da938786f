"""Content-Security-Policy (issue 13): every portal page, the back office and the API docs
send the policy, with no 'unsafe-inline' or 'unsafe-eval', and their HTML holds nothing the
policy would refuse (inline script, event handler, style attribute or element); violation
reports are logged."""

import contextlib
import json
import logging
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from config import settings as project_settings
from iot.testing.registry import make_device

pytestmark = pytest.mark.django_db

# Not portal pages: the API, the back office and allauth (checked below by name), files and
# machine endpoints
NOT_PAGES = ("api/", "admin/", "accounts/", "health", "metrics", "csp-report/", "i18n/", "sw.js")
NOT_JS = ("application/json", "application/ld+json")


class InlineFinder(HTMLParser):
    """What the policy refuses in a page: <script> without src (JSON data blocks are data),
    <style>, style="...", on*="..." handlers and javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and (attrs.get("type") or "").lower() not in NOT_JS:
            self.found.append(f"inline <script {attrs}>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy"
    parts = (part.split() for part in header.split(";") if part.strip())
    return {part[0]: part[1:] for part in parts}


def assert_strict(response, path):
    policy = directives(response)
    assert policy["script-src"] == ["'self'"], path
    assert policy["style-src"] == ["'self'"], path
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"], path
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'self'"], path
    assert "'self'" in policy["form-action"], path
    assert not any("unsafe" in source for sources in policy.values() for source in sources), path
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        finder = InlineFinder()
        finder.feed(response.content.decode())
        assert finder.found == [], f"{path}: {finder.found}"


def portal_paths(patterns=None, prefix="") -> list[str]:
    """Every parameterless path of the portal's URLconfs (a new page is checked without
    being listed here)."""
    paths = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(NOT_PAGES) or "<" in route:
            continue
        if isinstance(entry, URLResolver):
            paths += portal_paths(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            paths.append("/" + route.lstrip("^").rstrip("$"))
    return paths


def test_every_portal_page_sends_a_strict_policy_and_no_inline_code(world):
    device, _ = make_device("CSP-MTR-A", kind="meter", plant=world.a.plant)
    paths = portal_paths()
    assert {"/", "/profile/", "/iot/", "/simulation/", "/wallet/", "/privacy/"} <= set(paths)
    paths += [f"/community/{world.a.community.pk}/", f"/iot/devices/{device.pk}/", "/no-such-page/"]
    answered = set()
    for user in (world.a.member, world.a.referent, world.admin):
        client = Client()
        client.force_login(user)
        for path in paths:
            response = client.get(path)
            assert_strict(response, path)
            if response.status_code == 200:
                answered.add(path)
    assert len(answered) >= 15  # the pages themselves, not only redirects


def test_every_account_page_sends_a_strict_policy_and_no_inline_code(world):
    """allauth's pages (log in, sign up, password, emails, Google), signed in and not."""
    names = {name for name in get_resolver().reverse_dict
             if isinstance(name, str) and name.startswith(("account_", "socialaccount_"))}
    paths = set()
    for name in names:
        with contextlib.suppress(NoReverseMatch):  # those with arguments (keys in emails)
            paths.add(reverse(name))
    assert {"/accounts/login/", "/accounts/email/", "/accounts/password/change/"} <= paths
    member = Client()
    member.force_login(world.a.member)
    for client in (Client(), member):
        for path in sorted(paths):
            assert_strict(client.get(path), path)


def test_the_back_office_sends_a_strict_policy_and_no_inline_code(world):
    """Every model's list and add form, and the change forms with a geometry widget."""
    assert_strict(Client().get("/admin/login/"), "/admin/login/")
    client = Client()
    client.force_login(world.admin)
    paths = ["/admin/", f"/admin/communities/community/{world.a.community.pk}/change/",
             f"/admin/plants/plant/{world.a.plant.pk}/change/",
             f"/admin/accounts/user/{world.a.member.pk}/change/",
             "/admin/communities/membership/export/", "/admin/communities/membership/import/",
             "/admin/communities/community/add/?_popup=1"]
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        paths += [base, f"{base}add/"]
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 302, 403), path
        assert_strict(response, path)
    geometry = client.get(f"/admin/communities/community/{world.a.community.pk}/change/").content.decode()
    assert 'class="geojson-widget"' in geometry and "communities/geopreview.js" in geometry


def test_the_api_docs_load_their_start_up_script_as_a_file(db):
    client = Client()
    for path in ("/api/v1/docs/", "/api/v1/iot/device-api/docs"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(response, path)
    script = client.get("/api/v1/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_the_policy_names_the_sites_websocket_origin_and_the_tile_server(db):
    policy = directives(Client().get("/accounts/login/"))
    assert policy["connect-src"] == ["'self'", "ws://testserver"]
    assert policy["img-src"][:2] == ["'self'", "data:"]
    secure = directives(Client().get("/accounts/login/", secure=True))
    assert secure["connect-src"] == ["'self'", "wss://testserver"]
    origin = project_settings._origin_of
    assert origin("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://tile.openstreetmap.org"
    assert origin("https://{s}.tiles.example.org:8443/{z}/{x}/{y}{r}.png") == "https://*.tiles.example.org:8443"
    assert origin("/tiles/{z}/{x}/{y}.png") is None and origin("") is None


def test_a_violation_report_is_logged(db, caplog):
    report = {"csp-report": {"document-uri": "https://commonwatt.example.org/",
                             "violated-directive": "script-src-elem", "blocked-uri": "inline",
                             "line-number": 12, "original-policy": "x" * 3000}}
    client = Client(enforce_csrf_checks=True)  # browsers send no CSRF token
    with caplog.at_level(logging.WARNING, logger="commonwatt.csp"):
        response = client.post("/csp-report/", json.dumps(report), content_type="application/csp-report")
    assert response.status_code == 204
    [record] = [r for r in caplog.records if r.name == "commonwatt.csp"]
    assert record.levelno == logging.WARNING
    assert record.csp == {"document-uri": "https://commonwatt.example.org/", "line-number": "12",
                          "violated-directive": "script-src-elem", "blocked-uri": "inline"}


def test_a_report_that_is_not_one_is_refused(db, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="commonwatt.csp"):
        too_big = client.post("/csp-report/", json.dumps({"csp-report": {"blocked-uri": "x" * 20000}}),
                              content_type="application/csp-report")
        for body in ("not json", "[1]", "[" * 5000, json.dumps({"csp-report": "x"})):
            assert client.post("/csp-report/", body, content_type="application/csp-report").status_code == 400
    assert too_big.status_code == 413
    assert client.get("/csp-report/").status_code == 405
    assert [r for r in caplog.records if r.name == "commonwatt.csp"] == []


def test_reports_are_limited_per_client_and_the_excess_is_not_logged(db, caplog, settings):
    settings.SECURITY_REPORT_RATE = "3/min"
    report = json.dumps({"csp-report": {"violated-directive": "script-src-elem", "blocked-uri": "inline"}})
    client = Client()
    with caplog.at_level(logging.WARNING, logger="commonwatt.csp"):
        codes = [client.post("/csp-report/", report, content_type="application/csp-report").status_code
                 for _ in range(5)]
        other = client.post("/csp-report/", report, content_type="application/csp-report",
                            REMOTE_ADDR="192.0.2.7")
    assert codes == [204, 204, 204, 429, 429] and other.status_code == 204  # per address
    assert len([r for r in caplog.records if r.name == "commonwatt.csp"]) == 4
    limited = client.post("/csp-report/", report, content_type="application/csp-report")
    assert int(limited["Retry-After"]) > 0
