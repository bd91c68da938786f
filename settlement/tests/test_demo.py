"""`make run`'s demo data: the demo community's last month, drafted then approved and
posted by the demo referent, with balanced postings; seeding again changes nothing."""

import io

import pytest
from django.core.management import call_command

from billing.models import Leg, Posting
from settlement.models import GseYearlyStatement, SettlementRun

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_demo_community_has_its_last_month_settled():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    run = SettlementRun.objects.get(status="posted")
    assert "approved and posted" in out.getvalue()
    assert run.posted_by.role == "referent" and run.approved_by == run.posted_by
    assert run.period.community.referents.filter(pk=run.posted_by.pk).exists()
    assert run.data_quality["blocking"] == [] and run.lines.filter(kind="tip").exists()
    postings = Posting.objects.filter(kind="settlement")
    assert (
        postings.count()
        == run.lines.filter(
            kind__in=["producer_share", "consumer_share", "fund", "excess_share"], amount__gt=0
        ).count()
    )
    for posting in postings:
        assert sum(leg.amount for leg in Leg.objects.filter(posting=posting)) == 0
    statements = list(GseYearlyStatement.objects.values())
    assert len(statements) == 2 and statements[0]["community_id"] == run.period.community_id
    call_command("seed_demo", stdout=io.StringIO())
    assert list(GseYearlyStatement.objects.values()) == statements  # the import is idempotent
    assert (
        SettlementRun.objects.count() == 1
        and Posting.objects.filter(kind="settlement").count() == postings.count()
    )
