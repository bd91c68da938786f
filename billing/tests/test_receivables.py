"""What members owe communities, through the API and the admin: collected from the wallet on
any credit (to the cent, never below the holds), settled by the community's referents (paid
outside, written off), scoped (404 outside, 403 for the member), audited, balanced."""

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from billing import ledger
from billing.ledger import LegSpec, PostingSpec
from billing.models import Account, EntryKind, Posting, PostingKind, Receivable
from billing.tests.helpers import VALID_IBAN, fund
from billing.verify import ledger_verify

URL = "/api/v1/billing/receivables"
pytestmark = pytest.mark.django_db


def owe(user, community, amount, *, line=1):
    """GSE recovers `amount` from `user` as a settlement line would: the wallet gives what
    it has available, the rest is owed to `community` (the capped debit of a negative line)."""
    wallet = ledger.account_wallet(user=user)
    (posting,) = ledger.postings_create_bulk(
        specs=[
            PostingSpec(
                legs=[
                    LegSpec(
                        ledger.account_incentives_receivable(community=community),
                        Decimal(amount),
                        EntryKind.SETTLEMENT_CREDIT,
                    )
                ],
                cap=LegSpec(wallet, -Decimal(amount), EntryKind.SETTLEMENT_CREDIT),
                idempotency_key=f"settlement:900:{line}",
                kind=PostingKind.SETTLEMENT,
                community=community,
                trace={"settlement_run_id": 900, "settlement_line_id": line},
            )
        ]
    )
    return posting


def wallet(client):
    res = client.get("/api/v1/wallet")
    assert res.status_code == 200
    return res.json()


def only(client, **params):
    res = client.get(URL, params)
    assert res.status_code == 200, res.content
    return res.json()["items"]


def sound():
    report = ledger_verify()
    assert report.ok, report.problems


def test_it_collects_what_is_owed_on_a_credit_to_the_cent(world, as_user):
    member, community = world.a.member, world.a.community
    fund(member, "9.39")
    posting = owe(member, community, "20.89")
    assert (posting.debited, posting.shortfall) == (Decimal("9.39"), Decimal("11.50"))
    client = as_user(member)
    body = wallet(client)
    assert Decimal(body["balance"]) == 0 and Decimal(body["owed"]) == Decimal("11.50")
    assert body["owed_to"] == [
        {
            "receivable": Receivable.objects.get().pk,
            "community": community.pk,
            "name": community.name,
            "amount": "11.50",
        }
    ]
    (item,) = only(client)
    assert item["status"] == "open" and item["owed"] == "11.50"
    (charge,) = item["entries"]
    assert (charge["kind"], charge["amount"], charge["settlement_run"], charge["settlement_line"]) == (
        "charge",
        "11.50",
        900,
        1,
    )
    fund(member, "5.25")  # every cent of it goes to the community
    body = wallet(client)
    assert (body["balance"], body["owed"]) == ("0.00", "6.25")
    fund(member, "10.00")  # 6.25 collected, 3.75 left
    body = wallet(client)
    assert (body["balance"], body["owed"], body["owed_to"]) == ("3.75", "0.00", [])
    (item,) = only(client)
    assert item["status"] == "settled"
    assert [(e["kind"], e["amount"]) for e in item["entries"]] == [
        ("charge", "11.50"),
        ("collection", "-5.25"),
        ("collection", "-6.25"),
    ]
    kinds = [e["kind"] for e in client.get("/api/v1/wallet/transactions").json()["items"]]
    assert kinds.count("collection") == 2
    assert AuditEvent.objects.filter(action="receivable.collect").count() == 2
    # a credit with nothing owed collects nothing
    n = Posting.objects.count()
    fund(member, "1.00")
    assert Posting.objects.count() == n + 1 and wallet(client)["balance"] == "4.75"
    sound()


def test_a_settlement_credit_or_a_p2p_sale_collects_too(world, as_user):
    from billing import services

    member, community = world.a.member, world.a.community
    owe(member, community, "7.00")
    # a settlement credit (GSE's receivable -> wallet), posted in bulk as settlement does
    ledger.postings_create_bulk(
        specs=[
            PostingSpec(
                legs=[
                    LegSpec(
                        ledger.account_incentives_receivable(community=community),
                        Decimal("-3.00"),
                        EntryKind.SETTLEMENT_CREDIT,
                    ),
                    LegSpec(ledger.account_wallet(user=member), Decimal("3.00"), EntryKind.SETTLEMENT_CREDIT),
                ],
                idempotency_key="settlement:901:1",
                kind=PostingKind.SETTLEMENT,
                community=community,
            )
        ]
    )
    assert wallet(as_user(member))["owed"] == "4.00"
    # a P2P sale: the seller's proceeds (minus the platform fee) pay what is owed first
    buyer = world.a.referent
    fund(buyer, "20.00")
    services.wallet_transfer(
        buyer=buyer, seller=member, amount=Decimal("10.00"), idempotency_key="p2p-1", fee=Decimal("0.10")
    )
    body = wallet(as_user(member))
    assert (body["balance"], body["owed"]) == ("5.90", "0.00")
    sound()


def test_a_collection_never_takes_money_on_hold(world, as_user):
    member, community = world.a.member, world.a.community
    fund(member, "20.00")
    client = as_user(member)
    assert (
        client.post(
            "/api/v1/wallet/withdraw", {"amount": "15.00", "iban": VALID_IBAN}, format="json"
        ).status_code
        == 201
    )
    posting = owe(member, community, "8.00")  # only 5.00 available: 3.00 owed
    assert (posting.debited, posting.shortfall) == (Decimal("5.00"), Decimal("3.00"))
    fund(member, "2.00")
    body = wallet(client)
    assert (body["balance"], body["held"], body["available"], body["owed"]) == (
        "15.00",
        "15.00",
        "0.00",
        "1.00",
    )
    assert Account.objects.get(kind="member_wallet", user=member).balance >= 0
    sound()


def test_it_hides_other_communities(world, as_user):
    a, b = world.a, world.b
    owe(a.member, a.community, "4.00", line=1)
    owe(b.member, b.community, "6.00", line=2)
    mine = Receivable.objects.get(user=a.member)
    assert [r["id"] for r in only(as_user(a.member))] == [mine.pk]
    assert [r["id"] for r in only(as_user(a.referent))] == [mine.pk]
    assert len(only(as_user(world.admin))) == 2
    assert [r["user"] for r in only(as_user(world.admin), community=b.community.pk)] == [b.member.pk]
    assert only(as_user(world.admin), status="settled") == []
    assert len(only(as_user(world.admin), status="open")) == 2
    assert as_user(world.admin).get(URL, {"status": "paid"}).status_code == 400
    assert as_user(world.admin).get(URL, {"community": "x"}).status_code == 400
    body = {"method": "write_off", "note": "left the town"}
    res = as_user(b.referent).post(f"{URL}/{mine.pk}/settle", body, format="json")
    assert res.status_code == 404, res.content
    res = as_user(a.member).post(f"{URL}/{mine.pk}/settle", body, format="json")
    assert res.status_code == 403, res.content
    assert wallet(as_user(a.member))["owed"] == "4.00"
    assert not AuditEvent.objects.filter(action__startswith="receivable.write").exists()


def test_the_referent_settles_an_outside_payment_then_writes_off_the_rest(world, as_user):
    a = world.a
    owe(a.member, a.community, "11.50")
    receivable = Receivable.objects.get()
    referent = as_user(a.referent)
    url = f"{URL}/{receivable.pk}/settle"
    for bad in (
        {"method": "outside_payment", "amount": "11.51", "note": "x"},  # more than owed
        {"method": "outside_payment", "amount": "-1", "note": "x"},
        {"method": "outside_payment", "amount": "1.001", "note": "x"},
        {"method": "gift", "note": "x"},
        {"method": ["write_off"], "note": "x"},
        {"method": "write_off"},
    ):  # no note
        res = referent.post(url, bad, format="json")
        assert res.status_code == 400 and res.json()["error"] == "ValidationError", bad
    res = referent.post(
        url, {"method": "outside_payment", "amount": "4.00", "note": "bank transfer 12/3"}, format="json"
    )
    assert res.status_code == 200, res.content
    assert (res.json()["owed"], res.json()["status"]) == ("7.50", "open")
    res = referent.post(url, {"method": "write_off", "note": "hardship"}, format="json")
    body = res.json()
    assert (body["owed"], body["status"]) == ("0.00", "settled")
    assert [(e["kind"], e["amount"], e["actor"]) for e in body["entries"][1:]] == [
        ("outside_payment", "-4.00", a.referent.pk),
        ("write_off", "-7.50", a.referent.pk),
    ]
    res = referent.post(url, {"method": "write_off", "note": "again"}, format="json")
    assert res.status_code == 409 and res.json()["error"] == "NothingOwed"
    assert ledger.account_community_fund(community=a.community).balance == Decimal("-7.50")
    assert ledger.account_outside_payments(community=a.community).balance == Decimal("-4.00")
    assert AuditEvent.objects.filter(action="receivable.outside_payment", actor=a.referent).count() == 1
    assert AuditEvent.objects.filter(action="receivable.write_off", actor=a.referent).count() == 1
    # a later credit finds nothing to collect
    fund(a.member, "3.00")
    assert wallet(as_user(a.member))["balance"] == "3.00"
    sound()


def test_reversing_a_collection_gives_the_money_back_and_owes_it_again(world, as_user):
    member, community = world.a.member, world.a.community
    owe(member, community, "5.00")
    fund(member, "8.00")
    collection = Posting.objects.get(kind="collection")
    ledger.posting_reverse(posting=collection, actor=world.admin, reason="collected by mistake")
    body = wallet(as_user(member))
    assert (body["balance"], body["owed"]) == ("8.00", "5.00")  # not collected again at once
    sound()


def test_admins_and_referents_settle_from_the_admin(world, client):
    a = world.a
    owe(a.member, a.community, "2.50")
    receivable = Receivable.objects.get()
    client.force_login(a.referent)
    res = client.post(
        "/admin/billing/receivable/", {"action": "settle_write_off", "_selected_action": [receivable.pk]}
    )
    assert res.status_code == 302
    assert Receivable.objects.get().owed == 0
    assert AuditEvent.objects.filter(action="receivable.write_off", actor=a.referent).exists()
    client.force_login(world.b.referent)
    assert client.get(f"/admin/billing/receivable/{receivable.pk}/change/").status_code in (302, 403, 404)
