import pytest
from django.core import mail

from accounts.models import User
from accounts.testing import deliver_account_emails
from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _ids(response):
    return {u["id"] for u in response.json()["items"]}


class TestList:
    def test_it_answers_the_pagination_shape_with_page_and_size(self, world, as_user):
        response = as_user(world.admin).get("/api/v1/users", {"page": 2, "size": 3})
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"items", "total", "page", "size"}
        assert body["total"] == User.objects.count() and body["page"] == 2 and body["size"] == 3
        assert [u["id"] for u in body["items"]] == list(
            User.objects.order_by("id").values_list("id", flat=True)[3:6])

    def test_it_pages_with_skip_and_limit(self, world, as_user):
        body = as_user(world.admin).get("/api/v1/users", {"skip": 4, "limit": 2}).json()
        assert body["page"] == 3 and body["size"] == 2
        assert [u["id"] for u in body["items"]] == list(
            User.objects.order_by("id").values_list("id", flat=True)[4:6])

    def test_it_refuses_bad_paging(self, world, as_user):
        response = as_user(world.admin).get("/api/v1/users", {"limit": "ten"})
        assert response.status_code == 400
        assert response.json()["details"] == {"limit": ["A whole number is required."]}

    def test_it_filters_by_member_type_user_type_status_and_role(self, world, as_user):
        client = as_user(world.admin)
        make_user("sim@example.com", user_type="simulated")
        make_user("sus@example.com", status="suspended")
        assert _ids(client.get("/api/v1/users", {"type_filter": "prosumer"})) == {
            world.a.member.id, world.b.member.id}
        sims = client.get("/api/v1/users", {"user_type": "simulated"}).json()["items"]
        assert {u["email"] for u in sims} == {"sim@example.com"}
        assert {u["email"] for u in client.get("/api/v1/users", {"status": "suspended"}).json()["items"]} == {
            "sus@example.com"}
        assert _ids(client.get("/api/v1/users", {"role": "referent"})) == {
            world.a.referent.id, world.b.referent.id}

    def test_it_searches_name_email_and_fiscal_code(self, world, as_user):
        make_user("cf@example.com", fiscal_code="RSSMRA80A01H501U", full_name="Mario Rossi")
        client = as_user(world.admin)
        assert {u["email"] for u in client.get("/api/v1/users", {"search": "mario ros"}).json()["items"]} == {
            "cf@example.com"}
        assert {u["email"] for u in client.get("/api/v1/users", {"search": "H501"}).json()["items"]} == {
            "cf@example.com"}
        assert _ids(client.get("/api/v1/users", {"search": "member-a@"})) == {world.a.member.id}

    def test_it_refuses_an_unknown_filter_value(self, world, as_user):
        response = as_user(world.admin).get("/api/v1/users", {"type_filter": "alien"})
        assert response.status_code == 400
        assert "type_filter" in response.json()["details"]

    def test_a_member_sees_only_themself(self, world, as_user):
        assert _ids(as_user(world.a.member).get("/api/v1/users")) == {world.a.member.id}

    def test_a_referent_sees_their_community(self, world, as_user):
        assert _ids(as_user(world.a.referent).get("/api/v1/users")) == {
            world.a.referent.id, world.a.member.id, world.a.other_member.id}

    def test_a_vendor_sees_their_organization(self, world, as_user):
        assert _ids(as_user(world.a.vendor).get("/api/v1/users")) == {
            world.a.vendor.id, world.a.referent.id, world.a.member.id, world.a.other_member.id}

    def test_it_requires_authentication(self, api, world):
        response = api.get("/api/v1/users")
        assert response.status_code == 401
        assert response.json()["error"] == "NotAuthenticated"


class TestDetail:
    def test_it_hides_other_communities(self, world, as_user):
        response = as_user(world.a.member).get(f"/api/v1/users/{world.a.other_member.id}")
        assert response.status_code == 404
        assert response.json()["error"] == "NotFound"
        assert as_user(world.a.referent).get(f"/api/v1/users/{world.b.member.id}").status_code == 404
        assert as_user(world.a.vendor).get(f"/api/v1/users/{world.b.member.id}").status_code == 404

    def test_it_shows_a_user_in_scope(self, world, as_user):
        response = as_user(world.a.referent).get(f"/api/v1/users/{world.a.member.id}")
        assert response.status_code == 200
        assert response.json()["email"] == "member-a@example.com"
        assert "password" not in response.json()

    def test_put_replaces_the_fields(self, world, as_user):
        response = as_user(world.a.referent).put(
            f"/api/v1/users/{world.a.member.id}",
            {"email": "member-a@example.com", "full_name": "Anna Bassi", "member_type": "consumer",
             "fiscal_code": "rssmra80a01h501u"}, format="json")
        assert response.status_code == 200, response.content
        world.a.member.refresh_from_db()
        assert world.a.member.full_name == "Anna Bassi" and world.a.member.member_type == "consumer"
        assert world.a.member.fiscal_code == "RSSMRA80A01H501U"

    def test_put_requires_email_and_full_name(self, world, as_user):
        response = as_user(world.admin).put(f"/api/v1/users/{world.a.member.id}", {"address": "x"},
                                            format="json")
        assert response.status_code == 400
        assert set(response.json()["details"]) == {"email", "full_name"}

    def test_patch_refuses_a_bad_fiscal_code_and_changes_nothing(self, world, as_user):
        response = as_user(world.admin).patch(f"/api/v1/users/{world.a.member.id}",
                                              {"fiscal_code": "RSSMRA80A01H501X", "full_name": "Z"},
                                              format="json")
        assert response.status_code == 400
        assert "fiscal_code" in response.json()["details"]
        world.a.member.refresh_from_db()
        assert world.a.member.full_name == "Member a" and world.a.member.fiscal_code == ""

    def test_a_member_cannot_change_their_own_role_or_status(self, world, as_user):
        client = as_user(world.a.member)
        for change in ({"role": "referent"}, {"status": "active", "role": "admin"}, {"status": "suspended"}):
            response = client.patch(f"/api/v1/users/{world.a.member.id}", change, format="json")
            assert response.status_code == 403, change
            assert response.json()["error"] == "PermissionDenied"
        world.a.member.refresh_from_db()
        assert world.a.member.role == "user" and world.a.member.status == "active"

    def test_a_member_may_patch_their_own_name(self, world, as_user):
        response = as_user(world.a.member).patch(f"/api/v1/users/{world.a.member.id}",
                                                 {"full_name": "Me", "role": "user"}, format="json")
        assert response.status_code == 200
        assert response.json()["full_name"] == "Me"

    def test_a_referent_cannot_escalate_a_member(self, world, as_user):
        for role in ("admin", "vendor", "referent"):
            response = as_user(world.a.referent).patch(f"/api/v1/users/{world.a.member.id}",
                                                       {"role": role}, format="json")
            assert response.status_code == 403
        world.a.member.refresh_from_db()
        assert world.a.member.role == "user"

    def test_only_admins_give_the_admin_role(self, world, as_user):
        response = as_user(world.a.vendor).patch(f"/api/v1/users/{world.a.referent.id}", {"role": "admin"},
                                                 format="json")
        assert response.status_code == 403
        response = as_user(world.admin).patch(f"/api/v1/users/{world.a.referent.id}", {"role": "admin"},
                                              format="json")
        assert response.status_code == 200 and response.json()["role"] == "admin"

    def test_a_vendor_may_promote_a_member_to_referent(self, world, as_user):
        response = as_user(world.a.vendor).patch(f"/api/v1/users/{world.a.member.id}",
                                                 {"role": "referent"}, format="json")
        assert response.status_code == 200 and response.json()["role"] == "referent"

    def test_suspending_deactivates(self, world, as_user):
        response = as_user(world.a.referent).patch(f"/api/v1/users/{world.a.member.id}",
                                                   {"status": "suspended"}, format="json")
        assert response.status_code == 200 and response.json()["is_active"] is False

    def test_a_member_cannot_change_others_they_cannot_see(self, world, as_user):
        response = as_user(world.a.member).patch(f"/api/v1/users/{world.a.other_member.id}",
                                                 {"full_name": "Hacked"}, format="json")
        assert response.status_code == 404
        world.a.other_member.refresh_from_db()
        assert world.a.other_member.full_name == "Other a"

    def test_email_taken_is_a_400(self, world, as_user):
        response = as_user(world.admin).patch(f"/api/v1/users/{world.a.member.id}",
                                              {"email": "other-a@example.com"}, format="json")
        assert response.status_code == 400
        assert "email" in response.json()["details"]


class TestCreate:
    payload = {"email": "new@example.com", "full_name": "New Member", "member_type": "producer"}

    def test_admin_creates_any_role(self, world, as_user):
        response = as_user(world.admin).post("/api/v1/users", {**self.payload, "role": "admin",
                                                                "password": PASSWORD}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["role"] == "admin" and response.json()["status"] == "active"

    def test_referent_creates_a_member_in_their_community(self, world, as_user):
        client = as_user(world.a.referent)
        response = client.post("/api/v1/users", {**self.payload, "community": world.a.community.id},
                               format="json")
        deliver_account_emails()
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "invited" and body["member_type"] == "producer"
        user = User.objects.get(pk=body["id"])
        assert user.memberships.get().community == world.a.community
        assert not user.has_usable_password()
        assert mail.outbox[0].to == ["new@example.com"] and "invited" in mail.outbox[0].subject
        assert client.get(f"/api/v1/users/{user.id}").status_code == 200

    def test_referent_needs_a_community_they_manage(self, world, as_user):
        client = as_user(world.a.referent)
        response = client.post("/api/v1/users", self.payload, format="json")
        assert response.status_code == 400 and "community" in response.json()["details"]
        response = client.post("/api/v1/users", {**self.payload, "community": world.b.community.id},
                               format="json")
        assert response.status_code == 400 and "community" in response.json()["details"]
        assert not User.objects.filter(email="new@example.com").exists()

    def test_referent_cannot_create_staff(self, world, as_user):
        response = as_user(world.a.referent).post(
            "/api/v1/users", {**self.payload, "role": "vendor", "community": world.a.community.id},
            format="json")
        assert response.status_code == 403
        assert not User.objects.filter(email="new@example.com").exists()

    def test_vendor_creates_a_colleague_in_their_organization(self, world, as_user):
        response = as_user(world.a.vendor).post("/api/v1/users", {**self.payload, "role": "vendor"},
                                                format="json")
        assert response.status_code == 201
        assert response.json()["organization"]["id"] == world.a.organization.id

    def test_vendor_cannot_create_in_another_organization(self, world, as_user):
        response = as_user(world.a.vendor).post(
            "/api/v1/users", {**self.payload, "role": "vendor", "organization": world.b.organization.id},
            format="json")
        assert response.status_code == 403
        assert not User.objects.filter(email="new@example.com").exists()

    def test_vendor_creates_a_referent_it_can_then_see(self, world, as_user):
        client = as_user(world.a.vendor)
        response = client.post("/api/v1/users", {**self.payload, "role": "referent",
                                                 "community": world.a.community.id}, format="json")
        assert response.status_code == 201
        assert world.a.community.referents.filter(pk=response.json()["id"]).exists()
        assert client.get(f"/api/v1/users/{response.json()['id']}").status_code == 200

    def test_members_cannot_create(self, world, as_user):
        response = as_user(world.a.member).post("/api/v1/users", self.payload, format="json")
        assert response.status_code == 403

    def test_it_refuses_a_weak_password_and_a_duplicate(self, world, as_user):
        client = as_user(world.admin)
        response = client.post("/api/v1/users", {**self.payload, "password": "123"}, format="json")
        assert response.status_code == 400 and "password" in response.json()["details"]
        response = client.post("/api/v1/users", {**self.payload, "email": "member-a@example.com"},
                               format="json")
        assert response.status_code == 400 and "email" in response.json()["details"]

    def test_it_refuses_a_malformed_body(self, world, as_user):
        response = as_user(world.admin).post("/api/v1/users", "{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"] == "ParseError"


class TestProfile:
    def test_it_reads_and_updates_the_own_profile(self, world, as_user):
        client = as_user(world.a.member)
        assert client.get("/api/v1/users/profile").json()["id"] == world.a.member.id
        response = client.put("/api/v1/users/profile", {"full_name": "Anna", "address": "Via Roma 1",
                                                        "role": "admin"}, format="json")
        assert response.status_code == 200
        world.a.member.refresh_from_db()
        assert world.a.member.full_name == "Anna" and world.a.member.address == "Via Roma 1"
        assert world.a.member.role == "user"

    def test_it_validates_the_fiscal_code(self, world, as_user):
        response = as_user(world.a.member).put("/api/v1/users/profile", {"fiscal_code": "NOTACODE"},
                                               format="json")
        assert response.status_code == 400
        assert "fiscal_code" in response.json()["details"]


class TestCheck:
    def test_it_reveals_the_id_only_within_scope(self, world, as_user):
        client = as_user(world.a.referent)
        assert client.get("/api/v1/users/check", {"email": "member-a@example.com"}).json() == {
            "exists": True, "id": world.a.member.id}
        assert client.get("/api/v1/users/check", {"email": "MEMBER-B@example.com"}).json() == {
            "exists": True, "id": None}
        assert client.get("/api/v1/users/check", {"email": "nobody@example.com"}).json() == {
            "exists": False, "id": None}

    def test_it_is_staff_only(self, world, as_user):
        response = as_user(world.a.member).get("/api/v1/users/check", {"email": "member-a@example.com"})
        assert response.status_code == 403
        assert response.json()["error"] == "PermissionDenied"

    def test_it_requires_an_email(self, world, as_user):
        response = as_user(world.admin).get("/api/v1/users/check")
        assert response.status_code == 400
        assert "email" in response.json()["details"]


class TestVendorWithoutOrganization:
    def test_it_sees_only_themself(self, world, as_user):
        orphan = make_user("orphan@example.com", "vendor")
        assert _ids(as_user(orphan).get("/api/v1/users")) == {orphan.id}
        assert as_user(orphan).get(f"/api/v1/users/{world.a.member.id}").status_code == 404

    def test_admin_cannot_make_a_vendor_without_organization(self, world, as_user):
        response = as_user(world.admin).patch(f"/api/v1/users/{world.a.member.id}", {"role": "vendor"},
                                              format="json")
        assert response.status_code == 400
        assert "organization" in response.json()["details"]
        world.a.member.refresh_from_db()
        assert world.a.member.role == "user"


def test_an_out_of_range_id_is_a_404(world, as_user):
    response = as_user(world.admin).get("/api/v1/users/99999999999999999999999")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


def test_an_absurd_position_is_a_400_and_an_absurd_size_is_capped(world, as_user):
    client = as_user(world.admin)
    for params in ({"page": 10**20}, {"skip": 10**20}):
        response = client.get("/api/v1/users", params)
        assert response.status_code == 400, params
        assert set(response.json()["details"]) == set(params)
    for params in ({"size": 10**20}, {"limit": 10**20}):
        response = client.get("/api/v1/users", params)
        assert response.status_code == 200 and response.json()["size"] == 1000


def test_nul_characters_are_a_400(world, as_user):
    client = as_user(world.a.member)
    for body in ({"full_name": "a\x00b"}, {"preferences": {"k": "a\x00b"}}):
        response = client.put("/api/v1/users/profile", body, format="json")
        assert response.status_code == 400, body
    assert client.get("/api/v1/users", {"search": "a\x00"}).status_code == 400
