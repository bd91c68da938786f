"""The referent's reports: the community report of a posted run and the yearly report of
the shared benefits (XLSX opens with openpyxl and adds up; PDF holds the totals);
members get 403, other tenants 404."""

import io
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader

from settlement.models import SettlementLine
from statements.models import Statement

COMMUNITY = "/api/v1/billing/reports/community"
YEARLY = "/api/v1/billing/reports/yearly"


def _sum(run, kind):
    return sum(SettlementLine.objects.filter(run=run, kind=kind).values_list("amount", flat=True), Decimal(0))


def test_the_community_report_xlsx_adds_up(posted, as_user):
    run = posted.run
    res = as_user(posted.world.a.referent).get(f"{COMMUNITY}/{run.pk}/xlsx")
    assert res.status_code == 200
    wb = load_workbook(io.BytesIO(res.content))
    members = list(wb.worksheets[0].iter_rows(values_only=True))
    header, rows = members[0], members[1:]
    total_col = header.index("Total")
    assert len(rows) == Statement.objects.filter(run=run).count() == 2
    members_total = sum(Decimal(str(r[total_col])) for r in rows)
    assert members_total == sum(Statement.objects.filter(run=run).values_list("total_eur", flat=True))
    community = {r[1]: Decimal(str(r[2])) for r in wb.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert community["fund"] == _sum(run, "fund")
    # what GSE pays out is split exactly among the members and the fund
    assert members_total + community["fund"] == community["gse_advance"] == _sum(run, "gse_advance")
    assert community["distributed"] == community["gse_advance"]


def test_the_community_report_pdf_holds_the_totals(posted, as_user):
    res = as_user(posted.world.a.referent).get(f"{COMMUNITY}/{posted.run.pk}/pdf", HTTP_ACCEPT_LANGUAGE="en")
    assert res.status_code == 200 and res.content.startswith(b"%PDF-")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(res.content)).pages)
    assert f'{_sum(posted.run, "gse_advance"):,.2f}' in text and f'{_sum(posted.run, "fund"):,.2f}' in text
    assert posted.world.a.other_member.full_name in text


def test_a_member_asking_for_the_community_report_gets_403(posted, as_user):
    member = as_user(posted.world.a.member)
    for fmt in ("xlsx", "pdf"):
        res = member.get(f"{COMMUNITY}/{posted.run.pk}/{fmt}")
        assert res.status_code == 403 and res.json()["error"] == "PermissionDenied"
    res = member.get(f"{YEARLY}/{posted.world.a.community.pk}/2025/xlsx")
    assert res.status_code == 403


def test_it_hides_other_communities(posted, as_user):
    b = posted.world.b
    for user in (b.referent, b.member):
        client = as_user(user)
        assert client.get(f"{COMMUNITY}/{posted.run.pk}/xlsx").status_code == 404
        assert client.get(f"{YEARLY}/{posted.world.a.community.pk}/2025/pdf").status_code == 404


def test_it_refuses_bad_input(posted, as_user):
    referent = as_user(posted.world.a.referent)
    res = referent.get(f"{COMMUNITY}/{posted.run.pk}/docx")
    assert res.status_code == 400 and res.json()["details"] == {"format": ["invalid_choice"]}
    assert referent.get(f"{YEARLY}/{posted.world.a.community.pk}/1900/xlsx").status_code == 400


def test_the_yearly_report_shares_the_incentive_exactly(posted, as_user):
    run = posted.run
    res = as_user(posted.world.a.referent).get(f"{YEARLY}/{posted.world.a.community.pk}/2025/xlsx")
    assert res.status_code == 200
    wb = load_workbook(io.BytesIO(res.content))
    months = list(wb["Months"].iter_rows(values_only=True))
    header = months[0]
    row = dict(zip(header, months[1], strict=True))
    assert row["Month"] == "2025-03-01"
    total = dict(zip(header, months[-1], strict=True))
    assert total["Month"] == "Total"

    def amount(label):
        return Decimal(str(total[label]))

    received = amount("Incentive (TIP)") + amount("ARERA valorisation")
    assert received == _sum(run, "tip") + _sum(run, "valorisation")
    split = amount("Producer share") + amount("Consumer share") + amount("Community fund")
    assert split == _sum(run, "gse_advance")
    members = list(wb["Members"].iter_rows(min_row=2, values_only=True))
    assert sum(Decimal(str(m[-1])) for m in members) == amount("Producer share") + amount("Consumer share")
    pdf = as_user(posted.world.a.referent).get(f"{YEARLY}/{posted.world.a.community.pk}/2025/pdf",
                                               HTTP_ACCEPT_LANGUAGE="en")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"{received:,.2f}" in text
