import pytest

pytestmark = pytest.mark.django_db


def test_the_dashboard_needs_a_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_dashboard_greets_the_member(client, world):
    client.force_login(world.a.member)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Welcome, Member" in response.content


def test_the_profile_saves_name_address_and_fiscal_code(client, world):
    client.force_login(world.a.member)
    response = client.post("/profile/", {"full_name": "Anna Bassi", "address": "Via Roma 1, Bologna",
                                         "fiscal_code": "rssmra80a01h501u"})
    assert response.status_code == 302
    world.a.member.refresh_from_db()
    assert (world.a.member.full_name, world.a.member.address, world.a.member.fiscal_code) == (
        "Anna Bassi", "Via Roma 1, Bologna", "RSSMRA80A01H501U")
    assert b"Profile saved" in client.get("/profile/").content


def test_the_profile_refuses_a_wrong_check_character(client, world):
    client.force_login(world.a.member)
    response = client.post("/profile/",
                           {"full_name": "Anna", "address": "", "fiscal_code": "RSSMRA80A01H501X"})
    assert response.status_code == 400
    assert b"check character" in response.content
    world.a.member.refresh_from_db()
    assert world.a.member.full_name == "Member a" and world.a.member.fiscal_code == ""
