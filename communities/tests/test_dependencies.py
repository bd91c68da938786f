"""Issue 8: enrolment of a person into a community is a communities service that calls the
accounts services; accounts never import communities (no import cycle)."""

import ast
from pathlib import Path

ACCOUNTS = Path(__file__).resolve().parents[2] / "accounts"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_accounts_code_does_not_import_communities():
    offenders = {
        str(path.relative_to(ACCOUNTS)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "communities")
        for path in ACCOUNTS.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_staff_creating_a_user_in_a_community_still_places_them(world, as_user):
    """The accounts service reaches the communities service through the registered hook."""
    from communities.models import Membership

    resp = as_user(world.a.referent).post(
        "/api/v1/users", {"email": "placed@example.com", "community": world.a.community.pk}, format="json")
    assert resp.status_code == 201, resp.json()
    assert Membership.objects.filter(user__email="placed@example.com", community=world.a.community).exists()
    foreign = as_user(world.a.referent).post(
        "/api/v1/users", {"email": "nope@example.com", "community": world.b.community.pk}, format="json")
    assert foreign.status_code == 400
    assert "community" in foreign.json()["details"]
