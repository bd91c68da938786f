"""The OpenAPI schema documents every communities/plants endpoint, its filters and pagination.

Generated from this app's URL modules only, so another app's schema problem cannot hide ours;
the full `/api/v1/schema/` is the same generator over every app."""

from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

PATTERNS = [path("api/v1/", include("communities.api_urls")), path("api/v1/", include("plants.api_urls"))]


def schema():
    return SchemaGenerator(patterns=PATTERNS).get_schema(request=None, public=True)


def params(op):
    return {p["name"] for p in op.get("parameters", [])}


def test_every_endpoint_and_method_is_documented(db):
    doc = schema()
    validate_schema(doc)
    paths = doc["paths"]
    expected = {
        "/api/v1/communities": {"get", "post"},
        "/api/v1/communities/{id}": {"get", "put", "patch"},
        "/api/v1/communities/{id}/boundary": {"get"},
        "/api/v1/communities/{id}/members": {"get", "post"},
        "/api/v1/communities/{id}/members/{membership_id}": {"get", "delete"},
        "/api/v1/communities/{id}/transactions": {"get", "post"},
        "/api/v1/configurations": {"get", "post"},
        "/api/v1/members": {"get", "post"},
        "/api/v1/transactions": {"get"},
        "/api/v1/metering-points": {"get", "post"},
        "/api/v1/metering-points/{id}": {"get"},
        "/api/v1/plants": {"get", "post"},
        "/api/v1/plants/{id}": {"get", "put", "patch"},
    }
    for url, methods in expected.items():
        assert url in paths, url
        assert set(paths[url]) - {"parameters"} == methods, url


def test_lists_document_filters_ordering_and_pagination(db):
    paths = schema()["paths"]
    plants = params(paths["/api/v1/plants"]["get"])
    assert {
        "in_bbox",
        "near",
        "radius_km",
        "community",
        "ordering",
        "page",
        "size",
        "skip",
        "limit",
    } <= plants
    assert {"current", "ordering", "page"} <= params(paths["/api/v1/members"]["get"])
    assert {"active_on", "ordering"} <= params(paths["/api/v1/configurations"]["get"])
    assert {"start", "end"} <= params(paths["/api/v1/plants/{id}"]["get"])
    listing = paths["/api/v1/communities"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "$ref" in listing
