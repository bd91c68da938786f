"""The statement's renderings from its stored `data`: PDF and CSV (the portal page uses
the same `rows`). Numbers and dates follow the active language."""

from __future__ import annotations

import csv
from io import StringIO

from django.utils.translation import gettext as _

from statements import formats, pdf


def rows(data: dict) -> dict:
    """The printed statement: energy and money lines as display strings."""
    currency = data["community"].get("currency", "EUR")
    energy = [(label, formats.kwh(data["energy"].get(key))) for key, label in formats.energy_labels()]
    lines = [
        {"label": formats.line_label(x["kind"]), "plant": x["plant"] or "", "rule": x["rule"],
         "energy": formats.kwh(x["energy_kwh"]), "amount": formats.money(x["amount_eur"])}
        for x in data["lines"]
    ]
    return {
        "title": _("Statement %(number)s") % {"number": data["number"]},
        "period": formats.month(data["period"]["month"]),
        "energy": energy,
        "lines": lines,
        "total": formats.money(data["totals"]["amount_eur"]),
        "currency": currency,
    }


def statement_pdf(data: dict) -> bytes:
    r = rows(data)
    header = [_("Line"), _("Plant"), _("Rule"), _("Energy (kWh)"), _("Amount (%(currency)s)") % {
        "currency": r["currency"]}]
    body = [[x["label"], x["plant"], x["rule"], x["energy"], x["amount"]] for x in r["lines"]]
    body.append([_("Total"), "", "", "", r["total"]])
    blocks = [
        ("kv", [(_("Member"), data["member"]["name"]), (_("Community"), data["community"]["name"]),
                (_("Period"), r["period"]),
                (_("Run"), f'{data["run"]["number"]} ({data["run"]["regime"]})')]),
    ]
    if data.get("corrects"):
        corrects = _("This statement corrects statement %(number)s.") % {"number": data["corrects"]}
        blocks.append(("p", corrects))
    blocks += [
        ("h", _("Energy (kWh)")),
        ("kv", r["energy"]),
        ("h", _("Amounts")),
        ("table", pdf.table(header, body, numeric_from=3, bold_last=True)),
        ("p", _("Each amount is rounded once, to the cent, from the unrounded figures of the rule named "
                "beside it.")),
        ("p", _("Run hash: %(hash)s") % {"hash": data["run"]["result_hash"] or "-"}),
    ]
    subtitle = f'{data["community"]["name"]} - {r["period"]}'
    return pdf.document(title=r["title"], subtitle=subtitle, blocks=blocks)


def statement_csv(data: dict) -> str:
    """One row per line, then the energy and the total; plain `.`-decimal numbers (machine
    readable), text cells formula-safe."""
    out = StringIO()
    w = csv.writer(out)
    w.writerow(["statement", "month", "section", "kind", "rule", "plant", "energy_kwh", "amount_eur"])
    head = [data["number"], data["period"]["month"]]
    for key, _label in formats.energy_labels():
        w.writerow([*head, "energy", key, "", "", data["energy"].get(key) or "", ""])
    for x in data["lines"]:
        w.writerow([*head, "line", x["kind"], formats.safe(x["rule"]), formats.safe(x["plant"] or ""),
                    x["energy_kwh"], x["amount_eur"]])
    w.writerow([*head, "total", "", "", "", "", data["totals"]["amount_eur"]])
    return out.getvalue()
