"""Import of GSE's yearly statement of a community (CSV): what GSE finally recognises for
the year, per configuration. The yearly true-up (`settlement.trueup`) pays the difference
between it and the year's posted monthly advances.

Layout, one row per configuration, one year per file (header required, `;` or `,`):

    year,configuration,incentivised_kwh,tip_eur,valorisation_eur,excess_premium_eur,advances_eur
    2025,CER-IT-0001,60000,6600.00,466.80,330.00,7012.55

`configuration` is GSE's code of the configuration; `excess_premium_eur` is the part of the
TIP GSE found above the threshold (DOMAIN.md: it goes to non-business consumers only);
`advances_eur` (optional, may be empty) is what GSE says it advanced, shown beside the
ledger's figure, never used for the money. Decimals take `.` or the Italian `,`.

The whole file is checked before anything is written: one bad row refuses the file and
nothing changes. A re-import replaces the community's statement of that year (GSE's
corrected statement wins): rows equal to the stored ones are left untouched, so importing
the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext

import audit
from communities.models import Community
from core.exceptions import Invalid
from core.scoping import require_manageable
from settlement.models import GseYearlyStatement

COLUMNS = ("year", "configuration", "incentivised_kwh", "tip_eur", "valorisation_eur", "excess_premium_eur")
OPTIONAL = ("advances_eur",)
MONEY = ("tip_eur", "valorisation_eur", "excess_premium_eur", "advances_eur")
MAX_ROWS = 1000  # configurations of one community: a handful; more is not a GSE statement


def _decimal(text: str, *, places: int, required: bool = True) -> Decimal | None:
    raw = (text or "").strip()
    if not raw:
        if required:
            raise ValueError("empty")
        return None
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not a number: {raw[:30]!r}") from None
    if not value.is_finite() or value < 0 or value >= Decimal(10) ** 11:
        raise ValueError("must be a number >= 0")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"at most {places} decimals")
    return value


def _parse(data: bytes) -> tuple[int, dict[str, dict]]:
    """The file's year and rows by configuration; `Invalid` listing every bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(gettext("The file is not UTF-8 text."), details={"file": ["Not UTF-8."]}) from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(h or "").strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise Invalid(
            gettext("The file needs the columns %(columns)s.") % {"columns": ", ".join(COLUMNS)},
            details={"file": [f"Missing columns: {', '.join(missing)}"]},
        )
    rows: dict[str, dict] = {}
    errors: list[str] = []
    years: set[int] = set()
    for line_no, raw in enumerate(reader, start=2):
        if line_no > MAX_ROWS + 1:
            errors.append(f"more than {MAX_ROWS} rows")
            break
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        try:
            year = int(row["year"])
            if not 2000 <= year <= 2100:
                raise ValueError("year out of range")
            code = row["configuration"]
            if not code or len(code) > 64:
                raise ValueError("configuration: 1 to 64 characters")
            if code in rows:
                raise ValueError(f"configuration {code} twice")
            parsed = {"incentivised_kwh": _decimal(row["incentivised_kwh"], places=4)}
            for col in MONEY:
                parsed[col] = _decimal(row.get(col, ""), places=2, required=col not in OPTIONAL)
        except (ValueError, KeyError) as exc:
            errors.append(f"line {line_no}: {str(exc)[:200]}")
            continue
        years.add(year)
        rows[code] = parsed
    if not errors and not rows:
        errors.append("no rows")
    if len(years) > 1:
        errors.append(f"one year per file (found {', '.join(str(y) for y in sorted(years))})")
    if errors:
        raise Invalid(
            gettext("The statement cannot be imported: nothing was changed."), details={"file": errors}
        )
    return years.pop(), rows


def gse_statement_import(*, actor, community: Community, data: bytes, source: str = "") -> dict:
    """Replace `community`'s GSE statement of the file's year by the file (see the module
    docstring). `actor` None is the system (the management command); otherwise a referent
    of the community (admins too): a member gets `Forbidden`, an outsider `NotFound`.
    Returns `{year, configurations, created, updated, unchanged, removed}`."""
    if actor is not None:
        require_manageable(
            actor, community, message=gettext("Only the community's referents import statements.")
        )
    year, rows = _parse(data)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "removed": 0}
    with transaction.atomic():
        stored = {
            s.configuration: s
            for s in GseYearlyStatement.objects.select_for_update().filter(community=community, year=year)
        }
        gone = [s.pk for code, s in stored.items() if code not in rows]
        counts["removed"] = GseYearlyStatement.objects.filter(pk__in=gone).delete()[0]
        for code, values in rows.items():
            row = stored.get(code)
            if row is not None and all(getattr(row, k) == v for k, v in values.items()):
                counts["unchanged"] += 1
                continue
            row = row or GseYearlyStatement(community=community, year=year, configuration=code)
            counts["created" if row.pk is None else "updated"] += 1
            for key, value in values.items():
                setattr(row, key, value)
            row.source = source[:200]
            row.imported_by = actor if getattr(actor, "pk", None) else None
            row.save()
        if counts["created"] or counts["updated"] or counts["removed"]:
            audit.record(actor=actor, action="settlement.gse_statement_import", obj=community,
                         detail={"community": community.pk, "year": year, **counts})
    return {"year": year, "configurations": len(rows), **counts}
