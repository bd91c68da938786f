"""The error envelope across the API: 400, 401, 403, 404, 405, 429 and 500."""

import pytest
from django.test import Client, override_settings

from conftest import make_user

ENVELOPE_KEYS = {"error", "message", "status_code", "details"}


@pytest.fixture
def boom_client():
    return Client(raise_request_exception=False)


def test_it_answers_400_with_field_details(api, db):
    response = api.post("/api/v1/auth/register", {"email": "bad", "password": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["error"] == "ValidationError" and body["status_code"] == 400
    assert set(body["details"]) == {"email", "password"}
    assert body["message"].startswith("email: ")


def test_it_answers_401_without_credentials(api, db):
    response = api.get("/api/v1/users/profile")
    assert response.status_code == 401
    assert response.json() == {"error": "NotAuthenticated", "status_code": 401, "details": {},
                               "message": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_403_in_the_envelope(world, as_user):
    response = as_user(world.a.member).get("/api/v1/users/check", {"email": "a@example.com"})
    assert response.status_code == 403
    assert set(response.json()) == ENVELOPE_KEYS and response.json()["error"] == "PermissionDenied"


def test_it_answers_404_for_an_unknown_api_path(client, db):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound" and set(response.json()) == ENVELOPE_KEYS


def test_it_answers_405_in_the_envelope(world, as_user):
    response = as_user(world.admin).delete(f"/api/v1/users/{world.a.member.id}")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"


def test_it_answers_415_for_an_unsupported_body(world, as_user):
    response = as_user(world.admin).post("/api/v1/users", "email=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"] == "UnsupportedMediaType"


def test_it_answers_429_for_a_locked_account(api, db):
    make_user("l@example.com")
    for _ in range(5):
        api.post("/api/v1/auth/login", {"email": "l@example.com", "password": "x"}, format="json")
    response = api.post("/api/v1/auth/login", {"email": "l@example.com", "password": "x"}, format="json")
    assert response.status_code == 429
    assert response.json()["details"]["retry_after_s"] > 0


@override_settings(ROOT_URLCONF="core.tests.urls_boom")
@pytest.mark.parametrize("path", ["/api/v1/boom-drf", "/api/v1/boom-django"])
def test_it_answers_500_with_a_request_id_and_no_traceback(boom_client, db, path, caplog):
    response = boom_client.get(path, HTTP_X_REQUEST_ID="req-500-test")
    assert response.status_code == 500
    body = response.json()
    assert body == {"error": "InternalServerError", "message": "An unexpected error occurred.",
                    "status_code": 500, "details": {}, "request_id": "req-500-test"}
    assert b"SELECT" not in response.content and b"Traceback" not in response.content
    logged = [r for r in caplog.records if r.name == "commonwatt.errors"]
    assert logged and logged[0].exc_info and getattr(logged[0], "request_id", "req-500-test")


@override_settings(ROOT_URLCONF="core.tests.urls_boom")
def test_a_portal_500_is_a_page_with_the_reference(boom_client, db):
    response = boom_client.get("/boom", HTTP_X_REQUEST_ID="req-page-500")
    assert response.status_code == 500
    assert b"req-page-500" in response.content and b"SELECT" not in response.content


@override_settings(ROOT_URLCONF="core.tests.urls_boom")
def test_django_html_errors_under_the_api_become_the_envelope(client, db):
    response = client.get("/api/v1/html-403")
    assert response.status_code == 403
    assert response.json()["error"] == "PermissionDenied" and set(response.json()) == ENVELOPE_KEYS


def test_a_csrf_failure_with_cookie_auth_is_a_403_envelope(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.a.member)
    response = client.put("/api/v1/users/profile", {"full_name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"] == "PermissionDenied" and "CSRF" in response.json()["message"]
    world.a.member.refresh_from_db()
    assert world.a.member.full_name == "Member a"
