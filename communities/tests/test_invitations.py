"""Issue 8, item 2: enrolment by email never pulls an existing account into the caller's scope.

Before: `POST /communities/{id}/members {"email": <anyone's>}` made a membership for the
platform admin or a user of another organization, who became visible (and editable) to the
caller. Now every enrolment is an invitation the person accepts on the portal page their
email links to; the API's answer is the same whether the email exists or not.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from communities.models import Membership, MembershipInvitation


def members_url(community):
    return f"/api/v1/communities/{community.pk}/members"


@pytest.mark.parametrize("target", ["member-b@example.com", "admin@example.com", "vendor-b@example.com"])
def test_an_email_of_another_tenant_or_the_admin_is_only_invited(world, invite, as_user, target):
    from accounts.models import User

    resp = invite(world.a.vendor, members_url(world.a.community), {"email": target})
    unknown = invite(world.a.vendor, members_url(world.a.community), {"email": "nobody-yet@example.com"})
    assert resp.status_code == unknown.status_code == 202
    assert resp.json() == unknown.json() == {"status": "invited"}
    person = User.objects.get(email=target)
    assert not Membership.objects.filter(user=person, community=world.a.community).exists()
    vendor = as_user(world.a.vendor)
    # still out of the vendor's scope: not listed, not readable, not editable
    assert target not in vendor.get("/api/v1/users").content.decode()
    assert target not in vendor.get("/api/v1/members").content.decode()
    assert vendor.get(f"/api/v1/users/{person.pk}").status_code == 404
    edit = vendor.patch(f"/api/v1/users/{person.pk}", {"full_name": "Owned"}, format="json")
    assert edit.status_code == 404
    person.refresh_from_db()
    assert person.full_name != "Owned"


def test_the_invited_person_decides(world, invite, invitation_token, answer, as_user):
    invite(world.a.referent, members_url(world.a.community), {"email": "Member-B@Example.com"})
    token = invitation_token("member-b@example.com")
    # nobody else can use the link: not the inviter, not another member
    for stranger in (world.a.referent, world.a.member, world.b.other_member):
        assert answer(stranger, token).status_code == 404
    assert not Membership.objects.filter(user=world.b.member, community=world.a.community).exists()
    resp = answer(world.b.member, token)
    assert resp.status_code == 302
    assert Membership.objects.filter(user=world.b.member, community=world.a.community, left_at=None).exists()
    # now (and only now) the referent sees them
    listed = as_user(world.a.referent).get(members_url(world.a.community)).content.decode()
    assert "member-b@example.com" in listed
    # the link works once
    assert answer(world.b.member, token).status_code == 409


def test_a_declined_invitation_shares_nothing(world, invite, invitation_token, answer):
    invite(world.a.vendor, members_url(world.a.community), {"email": "other-b@example.com"})
    token = invitation_token("other-b@example.com")
    assert answer(world.b.other_member, token, "decline").status_code == 302
    assert MembershipInvitation.objects.get().status == "declined"
    assert not Membership.objects.filter(user=world.b.other_member, community=world.a.community).exists()
    assert answer(world.b.other_member, token).status_code == 409


def test_an_expired_invitation_cannot_be_accepted(world, invite, invitation_token, answer):
    invite(world.a.vendor, members_url(world.a.community), {"email": "other-b@example.com"})
    MembershipInvitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    resp = answer(world.b.other_member, invitation_token("other-b@example.com"))
    assert resp.status_code == 409
    assert "expired" in resp.content.decode()
    assert not Membership.objects.filter(user=world.b.other_member, community=world.a.community).exists()


def test_the_accept_page_shows_the_invitation_to_the_person_only(world, invite, invitation_token, client):
    invite(world.a.vendor, members_url(world.a.community), {"email": "member-b@example.com"})
    token = invitation_token("member-b@example.com")
    assert client.get(f"/community/invitations/{token}/").status_code == 302  # login first
    client.force_login(world.b.member)
    page = client.get(f"/community/invitations/{token}/")
    assert page.status_code == 200
    assert "Community a" in page.content.decode() and "Accept" in page.content.decode()
    assert "Community a" in client.get("/community/invitations/").content.decode()
    assert client.get("/community/invitations/not-a-token/").status_code == 404
    client.force_login(world.a.member)
    assert client.get(f"/community/invitations/{token}/").status_code == 404


def test_the_database_keeps_only_a_digest_of_the_token(world, invite, invitation_token):
    invite(world.a.vendor, members_url(world.a.community), {"email": "member-b@example.com"})
    token = invitation_token("member-b@example.com")
    stored = MembershipInvitation.objects.get()
    assert stored.token != token and len(stored.token) == 64


def test_a_member_cannot_invite(world, invite):
    resp = invite(world.a.member, members_url(world.a.community), {"email": "friend@example.com"})
    assert resp.status_code == 403
    assert not MembershipInvitation.objects.exists()


def test_inviting_again_refreshes_the_one_open_invitation(world, invite, invitation_token, answer):
    url = members_url(world.a.community)
    invite(world.a.vendor, url, {"email": "member-b@example.com", "member_type": "consumer"})
    first = invitation_token("member-b@example.com")
    invite(world.a.vendor, url, {"email": "member-b@example.com", "member_type": "producer"})
    second = invitation_token("member-b@example.com")
    assert MembershipInvitation.objects.count() == 1
    assert answer(world.b.member, first).status_code == 404  # the old link is replaced
    assert answer(world.b.member, second).status_code == 302
    assert Membership.objects.get(user=world.b.member, community=world.a.community).member_type == "producer"


def test_the_invitation_mail_cannot_carry_injected_headers(world, invite, mailoutbox):
    world.a.community.name = "Sunny\r\nBcc: victim@example.com"
    world.a.community.save()
    invite(world.a.vendor, members_url(world.a.community), {"email": "someone@example.com"})
    mail = next(m for m in mailoutbox if "invited you" in m.body)
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert mail.bcc == [] and mail.to == ["someone@example.com"]


def test_the_back_office_does_not_enrol_by_picking_an_account(world, client):
    """Staff below admin cannot add a membership in a form (they would pick an account that
    never agreed); the import stays, and its rows become invitations."""
    client.force_login(world.a.referent)
    assert client.get("/admin/communities/membership/add/").status_code == 403
    assert client.get("/admin/communities/membership/import/").status_code == 200
    client.force_login(world.admin)
    assert client.get("/admin/communities/membership/add/").status_code == 200
