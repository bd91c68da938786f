from datetime import date

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from communities.models import Membership, MeteringPoint
from conftest import make_user


def members_url(community):
    return f"/api/v1/communities/{community.pk}/members"


def test_it_invites_a_new_person_by_email_with_an_eligible_pod(
    world, invite, mailoutbox, invitation_token, answer
):
    resp = invite(
        world.a.referent,
        members_url(world.a.community),
        {
            "email": "Nuovo@Example.com",
            "full_name": "Nuovo Socio",
            "member_type": "consumer",
            "joined_at": "2025-03-01",
            "metering_point": {
                "code": "it001e12345678",
                "location": {"lon": 11.35, "lat": 44.49},
                "primary_substation": "AC001E00001",
            },
        },
    )
    assert resp.status_code == 202, resp.json()
    assert resp.json() == {"status": "invited"}
    user = User.objects.get(email="nuovo@example.com")
    assert user.status == "invited" and not user.has_usable_password()
    assert user.emailaddress_set.get().email == "nuovo@example.com"
    # nothing joins before the person accepts
    assert not Membership.objects.filter(user=user).exists()
    assert not MeteringPoint.objects.filter(code="IT001E12345678").exists()
    # the person is told twice: how to choose a password (the accounts outbox, sent by
    # Celery), and where to accept
    from accounts.testing import deliver_account_emails

    deliver_account_emails()
    assert [m.to for m in mailoutbox] == [["nuovo@example.com"], ["nuovo@example.com"]]
    accepted = answer(user, invitation_token("nuovo@example.com"))
    assert accepted.status_code == 302, accepted.content
    membership = Membership.objects.get(user=user, community=world.a.community)
    assert membership.joined_at == date(2025, 3, 1) and membership.member_type == "consumer"
    assert list(membership.metering_points.values_list("code", flat=True)) == ["IT001E12345678"]


def test_it_refuses_a_pod_outside_the_boundary_and_creates_nothing(world, as_user):
    resp = as_user(world.a.referent).post(
        members_url(world.a.community),
        {
            "email": "far@example.com",
            "metering_point": {"code": "IT001E12345679", "location": {"lon": 12.5, "lat": 41.9}},
        },
        format="json",
    )
    assert resp.status_code == 400
    body = resp.json()
    assert "location" in body["details"]["metering_point"]
    assert "outside the boundary" in body["message"]
    assert not User.objects.filter(email="far@example.com").exists()
    assert not MeteringPoint.objects.filter(code="IT001E12345679").exists()


def test_it_refuses_a_pod_under_another_primary_substation(world, as_user):
    resp = as_user(world.a.vendor).post(
        members_url(world.a.community),
        {
            "user": world.a.vendor.pk,
            "metering_point": {
                "code": "IT001E12345670",
                "location": {"lon": 11.34, "lat": 44.49},
                "primary_substation": "AC999",
            },
        },
        format="json",
    )
    assert resp.status_code == 400
    assert "primary_substation" in resp.json()["details"]["metering_point"]


def test_it_refuses_a_pod_in_another_market_zone(world, as_user):
    membership = world.a.membership
    resp = as_user(world.a.vendor).post(
        "/api/v1/metering-points",
        {
            "membership": membership.pk,
            "code": "IT001E12345671",
            "market_zone": "SUD",
        },
        format="json",
    )
    assert resp.status_code == 400
    assert "market_zone" in resp.json()["details"]


def test_it_adds_a_member_through_members_with_a_community(world, invite, invitation_token, answer):
    newcomer = make_user("newcomer@example.com")
    resp = invite(
        world.admin,
        "/api/v1/members",
        {"community": world.b.community.pk, "user": newcomer.pk, "member_type": "producer"},
    )
    assert resp.status_code == 202, resp.json()
    assert answer(newcomer, invitation_token(newcomer.email)).status_code == 302
    membership = Membership.objects.get(user=newcomer)
    assert membership.community == world.b.community and membership.member_type == "producer"


def test_it_rejects_a_second_current_membership(world, as_user):
    resp = as_user(world.a.vendor).post(
        members_url(world.a.community), {"user": world.a.member.pk}, format="json"
    )
    assert resp.status_code == 400
    assert "user" in resp.json()["details"]


def test_it_needs_a_user_or_an_email(world, as_user):
    resp = as_user(world.a.vendor).post(
        members_url(world.a.community), {"member_type": "consumer"}, format="json"
    )
    assert resp.status_code == 400
    assert "user" in resp.json()["details"]


def test_it_keeps_history_when_a_member_leaves(world, as_user, enrol):
    client = as_user(world.a.referent)
    url = f"{members_url(world.a.community)}/{world.a.membership.pk}"
    resp = client.delete(f"{url}?left_at=2025-06-30")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["left_at"] == "2025-06-30"
    membership = Membership.objects.get(pk=world.a.membership.pk)
    assert membership.status == "left" and membership.left_at == date(2025, 6, 30)
    # Leaving twice is refused; rejoining makes a new row, the old one stays.
    assert client.delete(url).status_code == 400
    rejoin = enrol(world.a.referent, world.a.community, world.a.member)
    assert rejoin.status_code == 302
    assert Membership.objects.filter(user=world.a.member, community=world.a.community).count() == 2
    current = client.get(members_url(world.a.community), {"current": "true"}).json()
    assert current["total"] == 2
    left = client.get(members_url(world.a.community), {"current": "false"}).json()
    assert [m["id"] for m in left["items"]] == [world.a.membership.pk]


def test_it_refuses_leaving_before_joining(world, as_user):
    url = f"{members_url(world.a.community)}/{world.a.membership.pk}"
    resp = as_user(world.a.referent).delete(f"{url}?left_at=2020-01-01")
    assert resp.status_code == 400
    assert "left_at" in resp.json()["details"]
    assert Membership.objects.get(pk=world.a.membership.pk).left_at is None


def test_it_refuses_members_removing_others(world, as_user):
    other = Membership.objects.get(user=world.a.other_member)
    resp = as_user(world.a.member).delete(f"{members_url(world.a.community)}/{other.pk}")
    assert resp.status_code == 404  # they cannot even see the other member
    resp = as_user(world.a.member).delete(f"{members_url(world.a.community)}/{world.a.membership.pk}")
    assert resp.status_code == 403
    assert Membership.objects.get(pk=world.a.membership.pk).left_at is None


def test_it_shows_a_member_only_their_own_membership(world, as_user):
    body = as_user(world.a.member).get(members_url(world.a.community)).json()
    assert body["total"] == 1
    assert body["items"][0]["user_email"] == "member-a@example.com"


def test_it_enforces_one_current_membership_in_the_database(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            user=world.a.member, community=world.a.community, joined_at=date(2025, 2, 1)
        )


def test_it_allows_austrian_multi_participation_up_to_100_percent(world, enrol):
    for community in (world.a.community, world.b.community):
        community.regime = "at_eeg"
        community.save()
    user = make_user("multi@example.com")
    r1 = enrol(world.admin, world.a.community, user, participation_factor_pct="60")
    assert r1.status_code == 302, r1.content
    # the sum is the person's business: it is checked when they accept (the inviter of
    # another tenant must not learn about their other memberships)
    r2 = enrol(world.admin, world.b.community, user, participation_factor_pct="50")
    assert r2.status_code == 409
    assert "Participation factors exceed 100" in r2.content.decode()
    assert not Membership.objects.filter(user=user, community=world.b.community).exists()
    r3 = enrol(world.admin, world.b.community, user, participation_factor_pct="40")
    assert r3.status_code == 302
    factors = Membership.objects.filter(user=user).values_list("participation_factor_pct", flat=True)
    assert sorted(factors) == [40, 60]


def test_it_refuses_partial_participation_outside_austria(world, as_user):
    user = make_user("partial@example.com")
    resp = as_user(world.admin).post(
        members_url(world.a.community), {"user": user.pk, "participation_factor_pct": "50"}, format="json"
    )
    assert resp.status_code == 400
    assert "participation_factor_pct" in resp.json()["details"]
