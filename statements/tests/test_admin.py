"""The statements back office through a real admin login: scoped, read-only."""

from conftest import PASSWORD
from statements.models import Statement

URL = "/admin/statements/statement/"


def login(client, user):
    resp = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert resp.status_code == 302, resp.content[:300]
    return client


def test_a_referent_sees_their_communitys_statements_read_only(client, posted):
    statement = Statement.objects.filter(run=posted.run).first()
    login(client, posted.world.a.referent)
    assert statement.number in client.get(URL).content.decode()
    page = client.get(f"{URL}{statement.pk}/change/")
    assert page.status_code == 200 and statement.content_hash in page.content.decode()
    assert client.post(f"{URL}{statement.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Statement.objects.filter(pk=statement.pk).exists()


def test_the_admin_hides_other_communities_statements(client, posted):
    statement = Statement.objects.filter(run=posted.run).first()
    login(client, posted.world.b.referent)
    assert statement.number not in client.get(URL).content.decode()
    assert client.get(f"{URL}{statement.pk}/change/").status_code in (302, 404)
