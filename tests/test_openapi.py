"""The OpenAPI schema renders and the Swagger UI is served without any CDN."""

import re

import pytest

pytestmark = pytest.mark.django_db

ACCOUNT_PATHS = [
    "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh-token", "/api/v1/auth/logout",
    "/api/v1/auth/verify-email", "/api/v1/auth/password-reset-request", "/api/v1/auth/password-reset",
    "/api/v1/login/access-token", "/api/v1/login/test-token", "/api/v1/users", "/api/v1/users/{user_id}",
    "/api/v1/users/profile", "/api/v1/users/check",
]


def test_the_schema_lists_the_accounts_endpoints(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    for path in ACCOUNT_PATHS:
        assert path in schema["paths"], path
    listing = schema["paths"]["/api/v1/users"]["get"]
    params = {p["name"] for p in listing["parameters"]}
    assert {"type_filter", "user_type", "status", "role", "search", "page", "size", "skip", "limit"} <= params
    page = schema["components"]["schemas"]["PaginatedUserList"]
    assert set(page["required"]) == {"items", "total", "page", "size"}
    form = schema["paths"]["/api/v1/login/access-token"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in form


def test_the_swagger_ui_is_served_offline(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    external = [u for u in urls if u.startswith(("http:", "https:", "//"))]
    assert external == []
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any("swagger-ui" in a for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_every_operation_documents_the_error_envelope(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"error", "message", "status_code",
                                                                         "details"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "429" in responses, (method, path)
            if any(operation.get("security", [{}])):
                assert {"401", "403"} <= set(responses), (method, path)
            if "{" in path:
                assert {"400", "404"} <= set(responses), (method, path)
