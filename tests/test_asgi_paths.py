"""The same answers through Django's ASGI handler (what uvicorn runs in `make run`)."""

import pytest
from asgiref.sync import sync_to_async

from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_web_lockout_answers_429_over_asgi(async_client):
    await sync_to_async(make_user)("asgi@example.com")
    for _ in range(5):
        response = await async_client.post("/accounts/login/", {"login": "asgi@example.com", "password": "x"})
        assert response.status_code == 200
    response = await async_client.post("/accounts/login/",
                                       {"login": "asgi@example.com", "password": PASSWORD})
    assert response.status_code == 429
    assert response["Retry-After"]


async def test_the_api_login_and_envelope_over_asgi(async_client):
    await sync_to_async(make_user)("asgi@example.com")
    ok = await async_client.post("/api/v1/auth/login", {"email": "asgi@example.com", "password": PASSWORD},
                                 content_type="application/json")
    assert ok.status_code == 200 and ok.json()["user"]["email"] == "asgi@example.com"
    missing = await async_client.get("/api/v1/users/999999",
                                     headers={"Authorization": f"Bearer {ok.json()['access']}"})
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    assert missing["X-Request-ID"]
