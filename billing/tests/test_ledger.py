"""The ledger's database guarantees: balance, append-only, idempotency, non-negative."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from billing import ledger
from billing.ledger import InsufficientFunds, LegSpec
from billing.models import Account, Leg, Posting
from billing.tests.helpers import fund
from core.exceptions import Conflict, Invalid

pytestmark = pytest.mark.django_db


def _transfer(a, b, amount, key):
    return ledger.posting_create(
        legs=[LegSpec(a, -Decimal(amount)), LegSpec(b, Decimal(amount))], idempotency_key=key, kind="p2p"
    )


def test_it_maintains_balances_from_legs(world):
    fund(world.a.member, "50.00")
    wallet = ledger.account_wallet(user=world.a.member)
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("50.00")
    assert sum(leg.amount for leg in wallet.legs.all()) == wallet.balance


def test_it_posts_the_same_key_once(world):
    fund(world.a.member, "20")
    a, b = ledger.account_wallet(user=world.a.member), ledger.account_wallet(user=world.a.other_member)
    first = _transfer(a, b, "5", "k1")
    second = _transfer(a, b, "5", "k1")
    assert first.pk == second.pk and first.created and not second.created
    b.refresh_from_db()
    assert b.balance == Decimal("5.00")


def test_it_refuses_unbalanced_legs_in_python(world):
    a, b = ledger.account_wallet(user=world.a.member), ledger.account_wallet(user=world.a.other_member)
    with pytest.raises(Invalid):
        ledger.posting_create(
            legs=[LegSpec(a, Decimal("-1")), LegSpec(b, Decimal("2"))], idempotency_key="x", kind="p2p"
        )
    with pytest.raises(Invalid):
        ledger.posting_create(
            legs=[LegSpec(a, Decimal("-1.001")), LegSpec(b, Decimal("1.001"))],
            idempotency_key="y",
            kind="p2p",
        )


def test_the_database_refuses_an_unbalanced_posting_at_commit(world):
    fees = ledger.account_platform_fees()
    clearing = ledger.account_clearing(provider="dev")
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        posting = Posting.objects.create(idempotency_key="raw", kind="fee")
        Leg.objects.create(posting=posting, account=fees, amount=Decimal("3"))
        Leg.objects.create(posting=posting, account=clearing, amount=Decimal("-2"))
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_an_update_or_delete_of_a_leg_in_sql_fails(world):
    fund(world.a.member, "10")
    leg = Leg.objects.first()
    for sql in (
        "UPDATE billing_leg SET amount = amount + 1 WHERE id = %s",
        "DELETE FROM billing_leg WHERE id = %s",
        "UPDATE billing_posting SET reason = 'x' WHERE id IN ("
        "SELECT posting_id FROM billing_leg WHERE id = %s)",
        "DELETE FROM billing_posting WHERE id = (SELECT posting_id FROM billing_leg WHERE id = %s)",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(sql, [leg.pk])
    assert Leg.objects.filter(pk=leg.pk, amount=leg.amount).exists()


def test_the_database_refuses_an_overdraft(world):
    fund(world.a.member, "10")
    a, b = ledger.account_wallet(user=world.a.member), ledger.account_wallet(user=world.a.other_member)
    with pytest.raises(InsufficientFunds):
        _transfer(a, b, "10.01", "over")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_account SET balance = -1 WHERE id = %s", [a.pk])
    a.refresh_from_db()
    assert a.balance == Decimal("10.00")


def test_a_posting_never_mixes_currencies(world):
    eur = ledger.account_wallet(user=world.a.member)
    inr = ledger.account_clearing(provider="razorpay", currency="INR")
    with pytest.raises(Invalid):
        ledger.posting_create(
            legs=[LegSpec(inr, Decimal("-1")), LegSpec(eur, Decimal("1"))],
            idempotency_key="mix",
            kind="topup",
        )


def test_it_reverses_once_with_a_linked_correction(world):
    fund(world.a.member, "10")
    topup = Posting.objects.get(kind="topup")
    reversal = ledger.posting_reverse(posting=topup, actor=world.admin)
    again = ledger.posting_reverse(posting=topup, actor=world.admin)
    assert reversal.pk == again.pk and reversal.corrects_id == topup.pk
    wallet = ledger.account_wallet(user=world.a.member)
    wallet.refresh_from_db()
    assert wallet.balance == 0


def test_a_reversal_that_would_overdraw_is_refused(world):
    fund(world.a.member, "10")
    a, b = ledger.account_wallet(user=world.a.member), ledger.account_wallet(user=world.a.other_member)
    _transfer(a, b, "10", "all")
    with pytest.raises(Conflict):
        ledger.posting_reverse(posting=Posting.objects.get(kind="topup"), actor=world.admin)


def test_billing_verify_passes_then_finds_a_tampered_balance(world, capsys):
    fund(world.a.member, "10")
    call_command("billing_verify")
    assert "Ledger OK" in capsys.readouterr().out
    wallet = ledger.account_wallet(user=world.a.member)
    Account.objects.filter(pk=wallet.pk).update(balance=Decimal("11"))
    with pytest.raises(SystemExit) as exc:
        call_command("billing_verify")
    assert exc.value.code == 1
    assert "stored balance 11.00 != sum of legs 10.00" in capsys.readouterr().err
