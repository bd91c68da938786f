"""Import of the grid operator's official curves (CSV): they take precedence over our own
meters where present (`settlement_inputs`).

Layout, one row per metering point and interval (header required, `;` or `,`):

    pod,interval_start,withdrawal_kwh,injection_kwh
    IT001E00000001,2025-03-01T00:00:00+01:00,0.512,2.004

`interval_start` is ISO 8601 with its offset (or UTC if naive); an empty energy column
means "not in this file". Decimals take `.` or the Italian `,`. Re-importing the same file
changes nothing; a later file corrects earlier values (corrections arrive for 60 months).
Rows for metering points the actor does not manage are refused, as unknown PODs are.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils.translation import gettext

from communities.models import MeteringPoint
from core.exceptions import Invalid

REQUIRED = ("pod", "interval_start")


def _number(text: str) -> float | None:
    raw = (text or "").strip()
    if not raw:
        return None
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    value = float(raw)
    if value != value or value < 0 or value > 1e7:
        raise ValueError("energy must be a number >= 0")
    return value


def curves_import(*, actor, data: bytes, source: str = "") -> dict:
    """Upsert the rows of one CSV file; returns counts and the refused rows (line, reason).
    A file that cannot be read raises `Invalid` and nothing is imported."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(gettext("The file is not UTF-8 text."), details={"file": ["Not UTF-8."]}) from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if any(col not in header for col in REQUIRED):
        raise Invalid(
            gettext("The file needs the columns pod and interval_start."),
            details={"file": [f"Missing columns: {', '.join(c for c in REQUIRED if c not in header)}"]},
        )
    points = MeteringPoint.objects.all() if actor is None else MeteringPoint.objects.managed_by(actor)
    codes = dict(points.values_list("code", "id"))
    rows, refused = {}, []
    for line_no, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "") for k, v in raw.items()}
        pod = row.get("pod", "").strip().upper()
        if pod not in codes:
            refused.append({"line": line_no, "reason": "unknown metering point"})
            continue
        try:
            at = datetime.fromisoformat(row["interval_start"].strip())
            at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
            wd, inj = _number(row.get("withdrawal_kwh", "")), _number(row.get("injection_kwh", ""))
        except ValueError as exc:
            refused.append({"line": line_no, "reason": str(exc)[:200]})
            continue
        if wd is None and inj is None:
            refused.append({"line": line_no, "reason": "no energy"})
            continue
        rows[(codes[pod], at)] = (wd, inj)
    with transaction.atomic(), connection.cursor() as cursor:
        # COALESCE: a file with only one column keeps the other's earlier value
        sql = (
            "INSERT INTO settlement_officialreading (metering_point_id, interval_start, withdrawal_kwh,"
            " injection_kwh, source, imported_at) SELECT * FROM unnest(%s::bigint[], %s::timestamptz[],"
            " %s::float8[], %s::float8[], %s::text[], %s::timestamptz[])"
            " ON CONFLICT (metering_point_id, interval_start) DO UPDATE SET"
            " withdrawal_kwh = COALESCE(EXCLUDED.withdrawal_kwh, settlement_officialreading.withdrawal_kwh),"
            " injection_kwh = COALESCE(EXCLUDED.injection_kwh, settlement_officialreading.injection_kwh),"
            " source = EXCLUDED.source, imported_at = EXCLUDED.imported_at"
        )
        keys = list(rows)
        now = datetime.now(tz=UTC)
        cursor.execute(
            sql,
            [
                [k[0] for k in keys],
                [k[1] for k in keys],
                [rows[k][0] for k in keys],
                [rows[k][1] for k in keys],
                [source[:200]] * len(keys),
                [now] * len(keys),
            ],
        )
    return {"imported": len(rows), "refused": refused}
