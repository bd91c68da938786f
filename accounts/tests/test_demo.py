import io

import pytest
from django.core.management import call_command

from accounts import demo
from accounts.models import User

pytestmark = pytest.mark.django_db


def _seed() -> dict:
    ctx = {"logins": []}
    demo.seed(ctx, io.StringIO())
    return ctx


def test_it_seeds_the_organization_staff_and_mixed_members():
    ctx = _seed()
    assert ctx["organization"].name == "Energia Comune Srl"
    users = ctx["users"]
    assert len(users["user"]) == 10 and len(users["simulated"]) == 2
    assert {u.member_type for u in users["user"]} == {"consumer", "producer", "prosumer"}
    assert {u.user_type for u in users["simulated"]} == {"simulated"}
    assert users["vendor"][0].organization == ctx["organization"]
    assert users["admin"][0].is_superuser
    assert [role for role, _ in ctx["logins"]] == ["admin", "vendor", "referent", "member"]
    assert all(User.objects.get(email=e).check_password(ctx["password"]) for _, e in ctx["logins"])


def test_it_is_idempotent():
    _seed()
    count = User.objects.count()
    _seed()
    assert User.objects.count() == count == 15


def test_demo_logins_work_on_the_web_login(client):
    ctx = _seed()
    email = ctx["users"]["user"][0].email
    response = client.post("/accounts/login/", {"login": email, "password": ctx["password"]})
    assert response.status_code == 302 and response["Location"] == "/"


def test_seed_demo_prints_the_logins():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "admin@commonwatt.local" in out.getvalue()
    assert demo.PASSWORD in out.getvalue()
