"""Portal pages: the statements list (with the referent's report links) and one statement."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from core.exceptions import NotFound
from statements import formats, selectors
from statements import render as rendering


@login_required
def statements_page(request):
    statements = [
        {"pk": s.pk, "period": formats.month(s.month), "community": s.community.name,
         "member": s.data["member"]["name"], "kind": s.get_kind_display(),
         "total": formats.money(s.total_eur), "currency": s.community.currency}
        for s in selectors.statements_list(user=request.user)[:200]
    ]
    runs = selectors.reports_available(user=request.user)
    reports = [{"pk": r.pk, "community": r.period.community.name, "period": formats.month(r.period.month),
                "number": r.number} for r in runs]
    years = sorted({(r.period.community_id, r.period.community.name, r.period.month.year) for r in runs},
                   key=lambda y: (y[1], -y[2]))
    return render(request, "statements/list.html", {
        "statements": statements, "reports": reports,
        "years": [{"community_id": c, "community": n, "year": y} for c, n, y in years],
    })


@login_required
def statement_page(request, pk: int):
    try:
        statement = selectors.statement_get(user=request.user, statement_id=pk)
    except NotFound:
        raise Http404 from None
    return render(request, "statements/detail.html", {
        "statement": statement, "data": statement.data, "r": rendering.rows(statement.data)})
