"""The referent's reports: the community report of one posted run (all members, totals,
fund) and the yearly report of how the incentive was shared (what GSE asks referents
for), each as data, XLSX (openpyxl) and PDF. Only posted runs count; amounts are sums of
printed lines (already rounded once), so every column adds up exactly."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook

from statements import formats, pdf
from statements.models import Statement

MEMBER_KINDS = ("producer_share", "consumer_share", "excess_share")
COMMUNITY_KINDS = ("tip", "valorisation", "excess_premium", "gse_advance", "true_up", "fund")
ZERO = Decimal("0.00")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
ENERGY = ("withdrawn_kwh", "injected_kwh", "shared_kwh", "allocated_kwh")


def _sum_by_kind(lines) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for kind, amount in lines:
        out[kind] += amount
    return out


def community_report(*, run) -> dict:
    """One posted run: a row per statement (member or investor) and the community's lines."""
    statements = list(Statement.objects.filter(run=run).select_related("user").order_by("number"))
    members = []
    for s in statements:
        kinds = {k: Decimal(v) for k, v in s.data["totals"]["by_kind"].items()}
        other = sum((v for k, v in kinds.items() if k not in MEMBER_KINDS), ZERO)
        members.append({
            "statement": s.number, "name": s.data["member"]["name"], "type": s.data["member"]["member_type"],
            **{k: s.data["energy"].get(k) for k in ENERGY},
            **{k: kinds.get(k, ZERO) for k in MEMBER_KINDS}, "other": other, "total": s.total_eur,
        })
    community_lines = run.lines.filter(membership__isnull=True, user__isnull=True)
    community = _sum_by_kind(community_lines.values_list("kind", "amount"))
    members_total = sum((m["total"] for m in members), ZERO)
    return {
        "community": run.period.community.name, "month": run.period.month.isoformat(),
        "run": run.number, "result_hash": run.result_hash, "members": members,
        "totals": {**{k: community.get(k, ZERO) for k in COMMUNITY_KINDS},
                   "members": members_total,
                   "distributed": members_total + community.get("fund", ZERO)},
    }


def yearly_report(*, community, year: int) -> dict:
    """The year's posted runs (corrections included): incentive received, its split among
    producers, consumers, the fund and the excess premium, per month and per member."""
    from settlement.models import RunStatus, SettlementLine

    lines = SettlementLine.objects.filter(
        run__period__community=community, run__period__month__year=year, run__status=RunStatus.POSTED,
    ).select_related("run__period", "membership__user", "user")
    months: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: ZERO))
    members: dict[int, dict] = {}
    for line in lines:
        key = line.run.period.month.isoformat()
        months[key][line.kind] += line.amount
        user = line.user or (line.membership.user if line.membership else None)
        if user is None:
            continue
        row = members.setdefault(user.pk, {"name": user.full_name or user.email,
                                           **dict.fromkeys(MEMBER_KINDS, ZERO), "total": ZERO})
        row[line.kind] = row.get(line.kind, ZERO) + line.amount
        row["total"] += line.amount
    kinds = (*COMMUNITY_KINDS, *MEMBER_KINDS)
    month_rows = [{"month": m, **{k: v.get(k, ZERO) for k in kinds}} for m, v in sorted(months.items())]
    totals = {k: sum((r[k] for r in month_rows), ZERO) for k in kinds}
    return {
        "community": community.name, "year": year, "months": month_rows, "totals": totals,
        "received": totals["tip"] + totals["valorisation"] + totals["excess_premium"],
        "members": sorted(members.values(), key=lambda r: r["name"]),
    }


def _labels_community():
    return [_("Statement"), _("Member"), _("Type"), _("Withdrawn (kWh)"), _("Injected (kWh)"),
            _("Shared (kWh)"), _("Allocated (kWh)"), *[formats.line_label(k) for k in MEMBER_KINDS],
            _("Other"), _("Total")]


def _community_rows(report):
    return [[m["statement"], m["name"], m["type"], m["withdrawn_kwh"], m["injected_kwh"], m["shared_kwh"],
             m["allocated_kwh"], *[m[k] for k in MEMBER_KINDS], m["other"], m["total"]]
            for m in report["members"]]


def _xlsx(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append(header)
        for row in rows:
            ws.append([_cell(c) for c in row])
        for cells in ws.iter_rows(min_row=2):
            for c in cells:
                if isinstance(c.value, Decimal):
                    c.number_format = "#,##0.00"  # shown in the reader's locale by the spreadsheet
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(value):
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        if _NUMBER.fullmatch(value):  # our own decimal strings (kWh) stay numbers
            return Decimal(value)
        return formats.safe(value)
    return value


def community_report_xlsx(report: dict) -> bytes:
    totals = [[_("Total"), k, v] for k, v in report["totals"].items()]
    return _xlsx([
        (_("Members"), _labels_community(), _community_rows(report)),
        (_("Community"), [_("Line"), _("Kind"), _("Amount")], totals),
    ])


def community_report_pdf(report: dict) -> bytes:
    header = [_("Member"), _("Allocated (kWh)"), *[formats.line_label(k) for k in MEMBER_KINDS], _("Other"),
              _("Total")]
    rows = [[m["name"], formats.kwh(m["allocated_kwh"]), *[formats.money(m[k]) for k in MEMBER_KINDS],
             formats.money(m["other"]), formats.money(m["total"])] for m in report["members"]]
    rows.append([_("Total"), "", "", "", "", "", formats.money(report["totals"]["members"])])
    totals = [(formats.line_label(k), formats.money(v)) for k, v in report["totals"].items()
              if k in COMMUNITY_KINDS]
    totals += [(_("Paid to members"), formats.money(report["totals"]["members"])),
               (_("Distributed (members and fund)"), formats.money(report["totals"]["distributed"]))]
    return pdf.document(
        title=_("Community report"),
        subtitle=f'{report["community"]} - {formats.month(report["month"])} - {_("run")} {report["run"]}',
        blocks=[("h", _("Members")), ("table", pdf.table(header, rows, bold_last=True)),
                ("h", _("Community")), ("kv", totals)],
    )


def _yearly_kinds():
    return [("tip", formats.line_label("tip")), ("valorisation", formats.line_label("valorisation")),
            ("excess_premium", formats.line_label("excess_premium")),
            ("gse_advance", formats.line_label("gse_advance")), ("true_up", formats.line_label("true_up")),
            ("producer_share", formats.line_label("producer_share")),
            ("consumer_share", formats.line_label("consumer_share")),
            ("fund", formats.line_label("fund")), ("excess_share", formats.line_label("excess_share"))]


def yearly_report_xlsx(report: dict) -> bytes:
    kinds = _yearly_kinds()
    months = [[r["month"], *[r[k] for k, _l in kinds]] for r in report["months"]]
    months.append([_("Total"), *[report["totals"][k] for k, _l in kinds]])
    members = [[m["name"], *[m[k] for k in MEMBER_KINDS], m["total"]] for m in report["members"]]
    return _xlsx([
        (_("Months"), [_("Month"), *[label for _k, label in kinds]], months),
        (_("Members"), [_("Member"), *[formats.line_label(k) for k in MEMBER_KINDS], _("Total")], members),
    ])


def yearly_report_pdf(report: dict) -> bytes:
    kinds = _yearly_kinds()
    summary = [(_("Incentive received"), formats.money(report["received"]))]
    summary += [(label, formats.money(report["totals"][k])) for k, label in kinds]
    members = [[m["name"], *[formats.money(m[k]) for k in MEMBER_KINDS], formats.money(m["total"])]
               for m in report["members"]]
    return pdf.document(
        title=_("Yearly report of the shared benefits"),
        subtitle=f'{report["community"]} - {report["year"]}',
        blocks=[("h", _("Incentive and its split")), ("kv", summary), ("h", _("Members")),
                ("table", pdf.table([_("Member"), *[formats.line_label(k) for k in MEMBER_KINDS], _("Total")],
                                    members))],
    )
