"""Statements of a posted run of 1,000 members (`BENCH_STATEMENTS_MEMBERS`): issuing them
(`statements_issue`: group the lines, one statement + outbox row each) beside the floor of
reading the same run's lines, then rendering statements as PDF (ReportLab) beside CSV.

Everything happens in one transaction rolled back at the end: the database is left as it
was and no email leaves (the outbox dispatch runs only after a commit). The run has no
`inputs_hash`, so the re-gathering of the meters' energy (`_metered`, one
`settlement_inputs` call, measured by the settlement benchmark) is not part of this time.
"""

import os
import resource
import time
from datetime import date
from decimal import Decimal


class _Rollback(Exception):
    pass


def _world(n: int):
    from accounts.models import Organization, User
    from communities.models import Community, Membership
    from settlement.models import SettlementLine, SettlementPeriod, SettlementRun

    org = Organization.objects.create(name="Bench statements", slug="bench-statements")
    community = Community.objects.create(name="Bench statements", slug="bench-statements", organization=org)
    users = User.objects.bulk_create([
        User(username=f"bench-st-{i}", email=f"bench-st-{i}@example.com", full_name=f"Member {i}",
             password="!") for i in range(n)])
    members = Membership.objects.bulk_create([
        Membership(user=u, community=community, member_type="consumer", joined_at=date(2025, 1, 1))
        for u in users])
    period = SettlementPeriod.objects.create(community=community, month=date(2025, 3, 1))
    run = SettlementRun.objects.create(period=period, number=1, regime="it_cer")
    lines = []
    for i, m in enumerate(members):
        lines.append(SettlementLine(run=run, membership=m, kind="consumer_share",
                                    rule="it_cer.consumer_share@2024",
                                    energy_kwh=Decimal("123.4567"), amount=Decimal("12.34"), position=2 * i,
                                    detail={"weight_kwh": 123.4567}))
        if i % 10 == 0:
            lines.append(SettlementLine(run=run, membership=m, kind="producer_share",
                                        rule="it_cer.producer_share@2024", energy_kwh=Decimal("456.7"),
                                        amount=Decimal("45.67"), position=2 * i + 1))
    SettlementLine.objects.bulk_create(lines)
    SettlementRun.objects.filter(pk=run.pk).update(status="posted")
    run.refresh_from_db()
    return run


def run() -> dict:
    from django.db import transaction
    from django.utils import translation

    from statements import render
    from statements.models import Statement
    from statements.services import statements_issue

    n = int(os.environ.get("BENCH_STATEMENTS_MEMBERS", "1000"))
    n_render = int(os.environ.get("BENCH_STATEMENTS_RENDER", "100"))
    out: dict = {"members": n}
    try:
        with transaction.atomic(), translation.override("it"):
            started = time.perf_counter()
            posted = _world(n)
            out["setup_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            lines = list(posted.lines.select_related("membership").order_by("position", "id"))
            out["baseline_read_lines_s"] = round(time.perf_counter() - started, 3)
            out["lines"] = len(lines)
            started = time.perf_counter()
            issued = statements_issue(run=posted)
            out["statements_issue_s"] = round(time.perf_counter() - started, 3)
            out["statements"] = len(issued)
            sample = list(Statement.objects.filter(run=posted)[:n_render])
            started = time.perf_counter()
            sizes = [len(render.statement_pdf(s.data)) for s in sample]
            pdf_s = time.perf_counter() - started
            started = time.perf_counter()
            for s in sample:
                render.statement_csv(s.data)
            csv_s = time.perf_counter() - started
            out["pdf_ms_each"] = round(1000 * pdf_s / len(sample), 2)
            out["csv_ms_each"] = round(1000 * csv_s / len(sample), 3)
            out["pdf_bytes_each"] = sum(sizes) // len(sizes)
            raise _Rollback
    except _Rollback:
        pass
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out
