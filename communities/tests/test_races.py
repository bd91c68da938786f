"""Issue 8, races: concurrent creates answer 400/409, never 500, and never break the rule.

Real concurrency: each thread has its own database connection (transactional_db), and a
barrier releases them together. The rules hold by database constraints and row locks, not
by check-then-insert.
"""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from communities.models import Community, EnergyTransaction, Membership, MeteringPoint

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls):
    """Run the calls at the same instant, each in its own thread and DB connection."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for r in results:
        assert not isinstance(r, Exception), repr(r)
    return results


def api(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def portal(user):
    client = Client()
    client.force_login(user)
    return client


def codes(responses):
    return sorted(r.status_code for r in responses)


def test_concurrent_acceptances_keep_austrias_100_percent(world, invite, invitation_token):
    for community in (world.a.community, world.b.community):
        community.regime = "at_eeg"
        community.save()
    person = world.b.other_member
    Membership.objects.filter(user=person).delete()
    invite(world.a.vendor, f"/api/v1/communities/{world.a.community.pk}/members",
           {"email": person.email, "participation_factor_pct": "60"})
    first = invitation_token(person.email)
    invite(world.b.vendor, f"/api/v1/communities/{world.b.community.pk}/members",
           {"email": person.email, "participation_factor_pct": "60"})
    second = invitation_token(person.email)
    a, b = portal(person), portal(person)
    results = race(
        lambda: a.post(f"/community/invitations/{first}/", {"answer": "accept"}),
        lambda: b.post(f"/community/invitations/{second}/", {"answer": "accept"}),
    )
    assert codes(results) == [302, 409]
    total = sum(Membership.objects.filter(user=person, left_at=None).values_list(
        "participation_factor_pct", flat=True), Decimal("0"))
    assert total == Decimal("60")


def test_the_same_invitation_accepted_twice_at_once_makes_one_membership(world, invite, invitation_token):
    person = world.b.member
    invite(world.a.vendor, f"/api/v1/communities/{world.a.community.pk}/members", {"email": person.email})
    token = invitation_token(person.email)
    one, two = portal(person), portal(person)
    results = race(
        lambda: one.post(f"/community/invitations/{token}/", {"answer": "accept"}),
        lambda: two.post(f"/community/invitations/{token}/", {"answer": "accept"}),
    )
    assert codes(results) == [302, 409]
    assert Membership.objects.filter(user=person, community=world.a.community).count() == 1


def test_concurrent_registrations_of_one_pod_code(world):
    other = Membership.objects.get(user=world.a.other_member)
    vendor, referent = api(world.a.vendor), api(world.a.referent)
    results = race(
        lambda: vendor.post("/api/v1/metering-points",
                            {"membership": world.a.membership.pk, "code": "IT001E55555555"}, format="json"),
        lambda: referent.post("/api/v1/metering-points",
                              {"membership": other.pk, "code": "it001e55555555"}, format="json"),
    )
    assert codes(results) == [201, 400]
    loser = next(r for r in results if r.status_code == 400)
    assert "code" in loser.json()["details"]
    assert MeteringPoint.objects.filter(code="IT001E55555555").count() == 1


def test_concurrent_communities_with_one_slug(world):
    one, two = api(world.a.vendor), api(world.a.vendor)
    results = race(
        lambda: one.post("/api/v1/communities", {"name": "Sole", "slug": "sole"}, format="json"),
        lambda: two.post("/api/v1/communities", {"name": "Sole bis", "slug": "sole"}, format="json"),
    )
    assert codes(results) == [201, 400]
    assert "slug" in next(r for r in results if r.status_code == 400).json()["details"]
    assert Community.objects.filter(slug="sole").count() == 1


def test_concurrent_communities_with_one_name_get_their_own_slugs(world):
    one, two = api(world.a.vendor), api(world.a.vendor)
    results = race(
        lambda: one.post("/api/v1/communities", {"name": "Luna"}, format="json"),
        lambda: two.post("/api/v1/communities", {"name": "Luna"}, format="json"),
    )
    assert codes(results) == [201, 201]
    assert sorted(Community.objects.filter(name="Luna").values_list("slug", flat=True)) == ["luna", "luna-2"]


def test_a_retried_transaction_create_returns_the_first_answer_even_at_once(world):
    other = Membership.objects.get(user=world.a.other_member)
    body = {
        "from_membership": world.a.membership.pk, "to_membership": other.pk, "energy_kwh": "2.5",
        "interval_start": datetime(2025, 5, 1, 10, tzinfo=UTC).isoformat(),
        "interval_end": datetime(2025, 5, 1, 11, tzinfo=UTC).isoformat(),
    }
    url = f"/api/v1/communities/{world.a.community.pk}/transactions"
    one, two = api(world.a.vendor), api(world.a.vendor)
    results = race(
        lambda: one.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"),
        lambda: two.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"),
    )
    assert codes(results) == [201, 201]
    assert results[0].json() == results[1].json()
    assert EnergyTransaction.objects.count() == 1


INLINE = {"metering_points-TOTAL_FORMS": "0", "metering_points-INITIAL_FORMS": "0",
          "metering_points-MIN_NUM_FORMS": "0", "metering_points-MAX_NUM_FORMS": "1000"}


def _admin_add(client, person, community, factor):
    return client.post("/admin/communities/membership/add/", {
        "user": person.pk, "community": community.pk, "member_type": "consumer", "role": "member",
        "participation_factor_pct": factor, "joined_at": "2025-03-01", "status": "active", **INLINE,
    })


def test_the_back_office_keeps_austrias_100_percent_too(world):
    """The admin's membership form goes through the same rule and lock as the services
    (concurrent adds: one is refused by the form, never both saved)."""
    for community in (world.a.community, world.b.community):
        community.regime = "at_eeg"
        community.save()
    person = world.b.other_member
    Membership.objects.filter(user=person).delete()
    one, two = portal(world.admin), portal(world.admin)
    results = race(lambda: _admin_add(one, person, world.a.community, "60"),
                   lambda: _admin_add(two, person, world.b.community, "60"))
    assert codes(results) == [200, 302]  # 200: the form again, with the error
    refused = next(r for r in results if r.status_code == 200)
    assert b"exceed 100" in refused.content or b"already take" in refused.content
    total = sum(Membership.objects.filter(user=person, left_at=None).values_list(
        "participation_factor_pct", flat=True), Decimal("0"))
    assert total == Decimal("60")
    # raising the kept membership's factor past what is left is refused as well
    kept = Membership.objects.get(user=person, left_at=None)
    other = Membership.objects.create(user=person, community=world.b.community if kept.community_id ==
                                      world.a.community.pk else world.a.community,
                                      participation_factor_pct=Decimal("40"), joined_at="2025-03-01")
    answer = one.post(f"/admin/communities/membership/{other.pk}/change/", {
        "user": person.pk, "community": other.community_id, "member_type": "consumer", "role": "member",
        "participation_factor_pct": "50", "joined_at": "2025-03-01", "status": "active", **INLINE,
    })
    assert answer.status_code == 200 and b"already take" in answer.content
    other.refresh_from_db()
    assert other.participation_factor_pct == Decimal("40")
