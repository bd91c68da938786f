"""Monthly partitions of `iot_reading`.

`partitions_ensure` creates the partitions of a window of months (idempotent). A reading
whose month has no partition yet lands in `iot_reading_default`; when its month's
partition is created, those rows are moved into it in the same transaction (PostgreSQL
refuses to attach a partition whose range still has rows in the default partition).
Called by the beat task `iot.tasks.partitions_ensure_task`, after `migrate`, and by
`manage.py iot_partitions` for operators (e.g. before a historical backfill).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.utils import timezone

PARENT = "iot_reading"
DEFAULT = "iot_reading_default"


def month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def add_months(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


@dataclass
class PartitionReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    moved_rows: int = 0


def readings_table_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [PARENT])
        return cursor.fetchone()[0]


def partitions_existing() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s
            """,
            [PARENT],
        )
        return {row[0] for row in cursor.fetchall()}


def _create_month(cursor, month: date) -> int:
    name = partition_name(month)
    lo = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = add_months(month, 1)
    hi = datetime(nxt.year, nxt.month, 1, tzinfo=UTC)
    # The names are generated from dates above, never from input: safe to interpolate.
    cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    move = f"WITH moved AS (DELETE FROM {DEFAULT} WHERE ts >= %s AND ts < %s RETURNING *) "  # noqa: S608
    cursor.execute(move + f"INSERT INTO {name} SELECT * FROM moved", [lo, hi])  # noqa: S608
    moved = cursor.rowcount
    cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [lo, hi])
    return max(moved, 0)


def partitions_ensure(*, months_ahead: int = 3, months_back: int = 0, today: date | None = None
                      ) -> PartitionReport:
    """Create the monthly partitions from `months_back` months before the current month to
    `months_ahead` months after it (UTC months), moving any rows of those months out of the
    default partition. Idempotent; safe to run concurrently (an advisory lock serialises)."""
    today = today or timezone.now().date()
    first = add_months(month_start(today), -months_back)
    months = [add_months(first, i) for i in range(months_back + months_ahead + 1)]
    report = PartitionReport()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('iot_reading_partitions'))")
        existing = partitions_existing()
        for month in months:
            name = partition_name(month)
            if name in existing:
                report.existing.append(name)
                continue
            report.moved_rows += _create_month(cursor, month)
            report.created.append(name)
    return report
