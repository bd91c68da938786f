"""`manage.py settle` and the monthly beat task: the same services as the API."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.models import Account
from config.beat import BEAT_TASKS
from settlement.models import SettlementRun
from settlement.tasks import settlement_draft_month_task


def test_settle_drafts_approves_and_posts(settled):
    out = StringIO()
    call_command(
        "settle",
        "--community",
        settled.community.slug,
        "--month",
        "2025-03",
        "--post",
        "--as",
        settled.world.a.referent.email,
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert result["status"] == "posted" and result["lines"] == 7
    run = SettlementRun.objects.get(pk=result["run"])
    assert run.posted_by == settled.world.a.referent and run.approved_by == settled.world.a.referent
    assert Account.objects.get(kind="community_fund", community=settled.community).balance > 0


def test_settle_refuses_a_referent_of_another_community(settled):
    with pytest.raises(CommandError):
        call_command(
            "settle",
            "--community",
            settled.community.slug,
            "--month",
            "2025-03",
            "--as",
            settled.world.b.referent.email,
            stdout=StringIO(),
        )
    assert SettlementRun.objects.count() == 0


def test_settle_refuses_a_bad_month(settled):
    with pytest.raises(CommandError):
        call_command("settle", "--community", settled.community.slug, "--month", "March", stdout=StringIO())


def test_the_beat_task_drafts_every_active_community(settled):
    assert any(t["task"] == "settlement.tasks.settlement_draft_month_task" for t in BEAT_TASKS)
    result = settlement_draft_month_task.apply(kwargs={"month": "2025-03"}).get()
    assert result[settled.community.slug].endswith("created")
    # community B has no data: its draft is blocked by missing intervals and prices, not lost
    run_b = SettlementRun.objects.get(period__community=settled.world.b.community)
    assert run_b.status == "draft" and run_b.data_quality["blocking"]
    again = settlement_draft_month_task.apply(kwargs={"month": "2025-03"}).get()
    assert again[settled.community.slug].endswith("unchanged")
