from communities.models import EnergyTransaction, Membership


def url(community):
    return f"/api/v1/communities/{community.pk}/transactions"


def payload(world, **extra):
    other = Membership.objects.get(user=world.a.other_member)
    return {
        "from_membership": world.a.membership.pk,
        "to_membership": other.pk,
        "energy_kwh": "3.5",
        "unit_price_eur_per_kwh": "0.12",
        "interval_start": "2025-05-01T10:00:00Z",
        "interval_end": "2025-05-01T11:00:00Z",
        **extra,
    }


def test_it_records_a_transaction_between_members(world, as_user):
    resp = as_user(world.a.referent).post(url(world.a.community), payload(world), format="json")
    assert resp.status_code == 201, resp.json()
    assert resp.json()["amount_eur"] == "0.42"
    listing = as_user(world.a.member).get("/api/v1/transactions").json()
    assert listing["total"] == 1
    assert as_user(world.b.member).get("/api/v1/transactions").json()["total"] == 0


def test_it_records_energy_to_the_community(world, as_user):
    resp = as_user(world.a.referent).post(
        url(world.a.community), payload(world, to_membership=None), format="json"
    )
    assert resp.status_code == 201
    assert resp.json()["to_membership"] is None


def test_it_refuses_bad_transactions(world, as_user):
    client = as_user(world.a.referent)
    cases = [
        (payload(world, interval_end="2025-05-01T09:00:00Z"), "interval_end"),
        (payload(world, energy_kwh="0"), "energy_kwh"),
        (payload(world, to_membership=world.a.membership.pk), "to_membership"),
        (
            payload(world, interval_start="2024-05-01T10:00:00Z", interval_end="2024-05-01T11:00:00Z"),
            "from_membership",
        ),
        (payload(world, from_membership=world.b.membership.pk), "from_membership"),
    ]
    for body, field in cases:
        resp = client.post(url(world.a.community), body, format="json")
        assert resp.status_code == 400, body
        assert field in resp.json()["details"], (field, resp.json())
    assert not EnergyTransaction.objects.exists()


def test_it_filters_transactions_by_period(world, as_user):
    client = as_user(world.a.referent)
    client.post(url(world.a.community), payload(world), format="json")
    client.post(
        url(world.a.community),
        payload(world, interval_start="2025-06-01T10:00:00Z", interval_end="2025-06-01T11:00:00Z"),
        format="json",
    )
    body = client.get(url(world.a.community), {"start": "2025-05-15T00:00:00Z"}).json()
    assert body["total"] == 1
    assert (
        client.get("/api/v1/transactions", {"ordering": "interval_start"})
        .json()["items"][0]["interval_start"]
        .startswith("2025-05-01")
    )


def test_a_transaction_cannot_be_created_settled(world, as_user):
    """Issue 8: settling is the billing's business; a create says only `pending`."""
    client = as_user(world.a.referent)
    for status in ("settled", "cancelled"):
        resp = client.post(url(world.a.community), payload(world, status=status), format="json")
        assert resp.status_code == 400, resp.json()
        assert "status" in resp.json()["details"]
    assert not EnergyTransaction.objects.exists()
    ok = client.post(url(world.a.community), payload(world, status="pending"), format="json")
    assert ok.status_code == 201 and ok.json()["status"] == "pending"


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer(world, as_user):
    client = as_user(world.a.referent)
    first = client.post(url(world.a.community), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="abc")
    again = client.post(url(world.a.community), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert EnergyTransaction.objects.count() == 1
    # the key is the caller's: another manager's same key is another request
    other = as_user(world.a.vendor).post(url(world.a.community), payload(world), format="json",
                                         HTTP_IDEMPOTENCY_KEY="abc")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    # without a key every create is new
    assert client.post(url(world.a.community), payload(world), format="json").status_code == 201
    assert EnergyTransaction.objects.count() == 3


def test_the_same_idempotency_key_with_another_body_is_a_conflict(world, as_user):
    client = as_user(world.a.referent)
    client.post(url(world.a.community), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="k")
    resp = client.post(url(world.a.community), payload(world, energy_kwh="9"), format="json",
                       HTTP_IDEMPOTENCY_KEY="k")
    assert resp.status_code == 409
    assert EnergyTransaction.objects.count() == 1
