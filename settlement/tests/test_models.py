"""The database keeps a posted run and its lines immutable (migration 0002)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, transaction

from settlement.models import SettlementLine, SettlementPeriod, SettlementRun


def _run(world, status="draft"):
    period = SettlementPeriod.objects.create(community=world.a.community, month=date(2025, 3, 1))
    run = SettlementRun.objects.create(period=period, number=1, regime="it_cer")
    SettlementLine.objects.create(run=run, kind="fund", rule="test", amount=Decimal("1.00"))
    if status != "draft":
        SettlementRun.objects.filter(pk=run.pk).update(status=status)
    return run


def test_it_refuses_changes_to_a_posted_run(world):
    run = _run(world, "posted")
    for write in (
        lambda: SettlementRun.objects.filter(pk=run.pk).update(status="draft"),
        lambda: SettlementRun.objects.filter(pk=run.pk).delete(),
        lambda: SettlementLine.objects.filter(run=run).update(amount=Decimal("2.00")),
        lambda: SettlementLine.objects.create(run=run, kind="fund", rule="t", amount=Decimal("1")),
    ):
        with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
            write()
    assert SettlementLine.objects.get(run=run).amount == Decimal("1.00")


def test_it_allows_changes_to_a_draft(world):
    run = _run(world)
    SettlementLine.objects.filter(run=run).update(amount=Decimal("2.00"))
    assert SettlementLine.objects.get(run=run).amount == Decimal("2.00")


def test_it_refuses_a_period_not_on_the_first(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        SettlementPeriod.objects.create(community=world.a.community, month=date(2025, 3, 2))
