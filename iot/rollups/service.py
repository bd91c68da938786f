# ruff: noqa: S608  - SQL is assembled from module constants (table names, levels); values are bound.
"""Incremental rollups of `iot_reading` into 15-minute, hourly, daily and monthly tables.

Design
------
* **What is dirty.** A statement-level trigger on `iot_reading` (see `ddl.py`) appends, for
  every INSERT / UPDATE / DELETE statement, one row per (device, metric) with the range of
  timestamps it touched to the queue `iot_rollup_dirty`. Because it runs inside the writing
  transaction, a batch and its queue rows become visible together; duplicates skipped by
  `ON CONFLICT DO NOTHING` queue nothing. Late or corrected readings are therefore caught
  whatever their timestamp and whichever path wrote them (ingest service, an operator's SQL),
  with no hook in the ingest service and one cheap aggregate over the batch's transition
  table.
* **Watermark.** `rollup_run` consumes the queue in id order in batches, under a
  transaction-level advisory lock (one runner at a time; a second one returns at once).
  The highest queue id consumed is the watermark in `iot_rollup_state`: everything
  committed at or below it is in the rollups. Consuming the queue and writing the rollups
  happen in one transaction, so a crash loses nothing.
* **Re-rolling.** Each queue row becomes the range of 15-minute buckets it touches, extended
  to the next later reading, whose difference (counters) and gap flag changed with it. Ranges
  of one (device, metric) that overlap are merged, then recomputed from raw data with
  `INSERT ... SELECT ... GROUP BY date_bin(...) ON CONFLICT DO UPDATE`; buckets left
  without readings are deleted. Hourly rows are recomputed from the 15-minute rows of the
  touched hours, daily rows from the 15-minute rows of the touched days, monthly rows from
  the daily rows: every level equals a recomputation from raw data.
* **Time buckets.** 15-minute and hourly buckets are UTC. Daily and monthly buckets are
  the calendar days and months of the device's community time zone
  (`Community.time_zone`, UTC for a device without community), stored as the aware
  instant of local midnight: a report "per day" for an Italian community is an Italian day
  (23 or 25 hours long on DST changes). Every real time zone is offset by a multiple of
  15 minutes, so local days are exact unions of 15-minute buckets.
* **Counters** (`Metric.is_cumulative`, kWh registers): `delta` is the sum of differences
  between consecutive readings, each difference counted in the bucket of the later
  reading (the same rule as `iot.ingest.energy`). A drop below 90 % of the previous value
  is a counter reset: the new value is the energy since the reset (`resets` counts them);
  a smaller drop is noise (another precision, a stale value) and counts 0. Readings further apart than 1.5
  times the device's expected interval are a gap: the difference is kept (the energy did flow)
  but the bucket's `gaps` count flags it, so nothing is interpolated as if it were data.
"""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from iot.ingest.energy import RESET_RATIO

logger = logging.getLogger(__name__)

ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
LOCK_KEY = 4_700_151  # pg advisory lock id of the rollup runner
BATCH_SIZE = 20_000

_VALUE_COLS = ("n, min_value, max_value, sum_value, first_value, last_value, first_ts, last_ts, "
               "delta, resets, gaps")
_UPSERT = """
ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
    n = EXCLUDED.n, min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value,
    sum_value = EXCLUDED.sum_value, first_value = EXCLUDED.first_value,
    last_value = EXCLUDED.last_value, first_ts = EXCLUDED.first_ts, last_ts = EXCLUDED.last_ts,
    delta = EXCLUDED.delta, resets = EXCLUDED.resets, gaps = EXCLUDED.gaps,
    updated_at = EXCLUDED.updated_at
"""

# Overlapping [lo, hi) ranges of one (device, metric) merged into islands.
_MERGE = """
SELECT device_id, metric_id, tz, min(lo) AS lo, max(hi) AS hi
FROM (
    SELECT *, sum(starts::int) OVER (PARTITION BY device_id, metric_id ORDER BY lo, hi
                                     ROWS UNBOUNDED PRECEDING) AS island
    FROM (
        SELECT *, coalesce(lo > max(hi) OVER (PARTITION BY device_id, metric_id ORDER BY lo, hi
                                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                           true) AS starts
        FROM ({ranges}) r0
    ) r1
) r2
GROUP BY device_id, metric_id, tz, island
"""

_QUEUE_RANGES = f"""
SELECT q.device_id, q.metric_id, coalesce(c.time_zone, 'UTC') AS tz,
       date_bin('15 minutes', q.ts_min, {ORIGIN}) AS lo,
       date_bin('15 minutes', greatest(q.ts_max, coalesce(nx.ts, q.ts_max)), {ORIGIN})
           + interval '15 minutes' AS hi
FROM _rollup_queue q
LEFT JOIN iot_metric m ON m.id = q.metric_id
LEFT JOIN iot_device d ON d.id = q.device_id
LEFT JOIN communities_community c ON c.id = d.community_id
LEFT JOIN LATERAL (
    SELECT r.ts FROM iot_reading r
    WHERE r.device_id = q.device_id AND r.metric_id = q.metric_id
      AND r.ts > q.ts_max
    ORDER BY r.ts LIMIT 1
) nx ON true
"""

_REROLL_15M = f"""
WITH src AS (
    -- each range: the reading just before it (for the first difference) and its own
    -- readings, tagged with the range so that ranges never see each other's rows
    SELECT g.device_id, g.metric_id, g.lo AS range_lo, p.ts, p.value
    FROM _rollup_r15 g CROSS JOIN LATERAL (
        SELECT r.ts, r.value FROM iot_reading r
        WHERE r.device_id = g.device_id AND r.metric_id = g.metric_id AND r.ts < g.lo
        ORDER BY r.ts DESC LIMIT 1
    ) p
    UNION ALL
    SELECT g.device_id, g.metric_id, g.lo, r.ts, r.value
    FROM _rollup_r15 g JOIN iot_reading r
      ON r.device_id = g.device_id AND r.metric_id = g.metric_id AND r.ts >= g.lo AND r.ts < g.hi
), diffed AS (
    SELECT device_id, metric_id, range_lo, ts, value,
           lag(value) OVER w AS prev_value, lag(ts) OVER w AS prev_ts
    FROM src WINDOW w AS (PARTITION BY device_id, metric_id, range_lo ORDER BY ts)
), fresh AS (
    SELECT f.device_id, f.metric_id, date_bin('15 minutes', f.ts, {ORIGIN}) AS bucket,
           count(*) AS n, min(f.value) AS min_value, max(f.value) AS max_value,
           sum(f.value) AS sum_value,
           (array_agg(f.value ORDER BY f.ts))[1] AS first_value,
           (array_agg(f.value ORDER BY f.ts DESC))[1] AS last_value,
           min(f.ts) AS first_ts, max(f.ts) AS last_ts,
           CASE WHEN bool_or(m.is_cumulative) THEN coalesce(sum(
               CASE WHEN f.prev_value IS NULL THEN NULL
                    WHEN f.value >= f.prev_value THEN f.value - f.prev_value
                    WHEN f.value >= least(f.prev_value, {RESET_RATIO} * f.prev_value) THEN 0
                    ELSE f.value END
           ), 0) END AS delta,
           count(*) FILTER (
               WHERE m.is_cumulative AND f.value < least(f.prev_value, {RESET_RATIO} * f.prev_value)
           ) AS resets,
           count(*) FILTER (
               WHERE f.ts - f.prev_ts > make_interval(secs => 1.5 * coalesce(d.expected_interval_s, 60))
           ) AS gaps
    FROM diffed f
    LEFT JOIN iot_metric m ON m.id = f.metric_id
    LEFT JOIN iot_device d ON d.id = f.device_id
    WHERE f.ts >= f.range_lo  -- the reading before the range only served its difference
    GROUP BY 1, 2, 3
), gone AS (
    DELETE FROM iot_rollup_15m t USING _rollup_r15 g
    WHERE t.device_id = g.device_id AND t.metric_id = g.metric_id AND t.bucket >= g.lo AND t.bucket < g.hi
      AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.device_id = t.device_id
                      AND f.metric_id = t.metric_id AND f.bucket = t.bucket)
)
INSERT INTO iot_rollup_15m (device_id, metric_id, bucket, {_VALUE_COLS}, updated_at)
SELECT device_id, metric_id, bucket, {_VALUE_COLS}, now() FROM fresh
{_UPSERT}
"""

_REROLL_FROM_ROLLUP = f"""
WITH fresh AS (
    SELECT x.device_id, x.metric_id, {{bucket}} AS bucket,
           sum(x.n) AS n, min(x.min_value) AS min_value, max(x.max_value) AS max_value,
           sum(x.sum_value) AS sum_value,
           (array_agg(x.first_value ORDER BY x.bucket))[1] AS first_value,
           (array_agg(x.last_value ORDER BY x.bucket DESC))[1] AS last_value,
           min(x.first_ts) AS first_ts, max(x.last_ts) AS last_ts,
           sum(x.delta) AS delta, sum(x.resets) AS resets, sum(x.gaps) AS gaps
    FROM {{ranges}} g JOIN {{source}} x
      ON x.device_id = g.device_id AND x.metric_id = g.metric_id AND x.bucket >= g.lo AND x.bucket < g.hi
    GROUP BY 1, 2, 3
), gone AS (
    DELETE FROM {{target}} t USING {{ranges}} g
    WHERE t.device_id = g.device_id AND t.metric_id = g.metric_id AND t.bucket >= g.lo AND t.bucket < g.hi
      AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.device_id = t.device_id
                      AND f.metric_id = t.metric_id AND f.bucket = t.bucket)
)
INSERT INTO {{target}} (device_id, metric_id, bucket, {_VALUE_COLS}, updated_at)
SELECT device_id, metric_id, bucket, {_VALUE_COLS}, now() FROM fresh
{_UPSERT}
"""

# Coarser ranges: [lo, hi) widened to whole hours / local days / local months.
_WIDEN = {
    "1h": ("date_trunc('hour', lo, 'UTC')",
           "date_trunc('hour', hi - interval '1 microsecond', 'UTC') + interval '1 hour'"),
    "1d": ("date_trunc('day', lo, tz)",
           "(date_trunc('day', (hi - interval '1 microsecond') AT TIME ZONE tz) + interval '1 day')"
           " AT TIME ZONE tz"),
    "1mo": ("date_trunc('month', lo, tz)",
            "(date_trunc('month', (hi - interval '1 microsecond') AT TIME ZONE tz) + interval '1 month')"
            " AT TIME ZONE tz"),
}
# level -> (ranges it widens, table it aggregates, bucket expression)
_PLAN = {
    "1h": ("_rollup_r15", "iot_rollup_15m", "date_trunc('hour', x.bucket, 'UTC')"),
    "1d": ("_rollup_r15", "iot_rollup_15m", "date_trunc('day', x.bucket, g.tz)"),
    "1mo": ("_rollup_r1d", "iot_rollup_1d", "date_trunc('month', x.bucket, g.tz)"),
}


@dataclass
class RollupResult:
    queued: int = 0
    ranges: int = 0
    watermark: int = 0
    skipped: bool = False


def _fix_time_zones(cursor) -> None:
    """A community time zone PostgreSQL does not know would fail every run: use UTC."""
    cursor.execute("SELECT DISTINCT tz FROM _rollup_r15")
    for (tz,) in cursor.fetchall():
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            logger.warning("unknown community time zone %r: rolling up in UTC", tz)
            cursor.execute("UPDATE _rollup_r15 SET tz = 'UTC' WHERE tz = %s", [tz])


def _reroll_batch(cursor, batch_size: int) -> tuple[int, int, int]:
    """Consume up to `batch_size` queue rows; returns (rows, ranges, highest id)."""
    # ON COMMIT DROP does not fire when the caller's transaction is still open (a test, a
    # loop of batches inside one atomic block): start from a clean slate either way.
    cursor.execute("DROP TABLE IF EXISTS _rollup_queue, _rollup_r15, _rollup_r1h, _rollup_r1d,"
                   " _rollup_r1mo")
    cursor.execute(
        "CREATE TEMP TABLE _rollup_queue (id bigint, device_id bigint, metric_id integer,"
        " ts_min timestamptz, ts_max timestamptz) ON COMMIT DROP"
    )
    cursor.execute(
        """
        WITH taken AS (
            DELETE FROM iot_rollup_dirty WHERE id IN (
                SELECT id FROM iot_rollup_dirty ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING id, device_id, metric_id, ts_min, ts_max)
        INSERT INTO _rollup_queue SELECT * FROM taken
        """,
        [batch_size],
    )
    taken = cursor.rowcount
    if not taken:
        return 0, 0, 0
    cursor.execute(
        "CREATE TEMP TABLE _rollup_r15 ON COMMIT DROP AS " + _MERGE.format(ranges=_QUEUE_RANGES)
    )
    ranges = cursor.rowcount
    _fix_time_zones(cursor)
    cursor.execute(_REROLL_15M)
    for level in ("1h", "1d", "1mo"):
        base, source, bucket = _PLAN[level]
        lo, hi = _WIDEN[level]
        widened = f"SELECT device_id, metric_id, tz, {lo} AS lo, {hi} AS hi FROM {base}"
        cursor.execute(f"CREATE TEMP TABLE _rollup_r{level} ON COMMIT DROP AS "
                       + _MERGE.format(ranges=widened))
        cursor.execute(_REROLL_FROM_ROLLUP.format(
            bucket=bucket, ranges=f"_rollup_r{level}", source=source, target=f"iot_rollup_{level}"
        ))
    cursor.execute("SELECT max(id) FROM _rollup_queue")
    highest = cursor.fetchone()[0]
    cursor.execute(
        "UPDATE iot_rollup_state SET watermark_id = greatest(watermark_id, %s), last_run_at = now(),"
        " ranges_total = ranges_total + %s WHERE id = 1",
        [highest, ranges],
    )
    return taken, ranges, highest


def rollup_run(*, batch_size: int = BATCH_SIZE, max_batches: int | None = None) -> RollupResult:
    """Bring every rollup level up to date with the committed readings (see module doc).

    Each batch is one transaction. Returns how many queue rows and merged ranges were
    rolled up; `skipped` when another runner holds the lock.
    """
    result = RollupResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                result.skipped = True
                return result
            taken, ranges, highest = _reroll_batch(cursor, batch_size)
        batches += 1
        result.queued += taken
        result.ranges += ranges
        result.watermark = max(result.watermark, highest)
        if taken < batch_size:
            break
    with connection.cursor() as cursor:
        cursor.execute("UPDATE iot_rollup_state SET last_run_at = now() WHERE id = 1")
        cursor.execute("SELECT watermark_id FROM iot_rollup_state WHERE id = 1")
        result.watermark = cursor.fetchone()[0]
    return result


def rollup_enqueue_range(*, start: datetime, end: datetime, device_ids: list[int] | None = None) -> int:
    """Queue every (device, metric) with readings or rollups in [start, end) for re-rolling.

    For operators (`iot_rollup --rebuild`): after restoring a backup, changing a
    community's time zone, or to fill rollups for readings loaded before the trigger.
    """
    device_filter = "AND device_id = ANY(%s)" if device_ids else ""
    params = [start, end, *([device_ids] if device_ids else [])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO iot_rollup_dirty (device_id, metric_id, ts_min, ts_max, n)
            SELECT device_id, metric_id, min(lo), max(hi), sum(n) FROM (
                SELECT device_id, metric_id, min(ts) AS lo, max(ts) AS hi, count(*) AS n
                FROM iot_reading WHERE ts >= %s AND ts < %s {device_filter} GROUP BY 1, 2
                UNION ALL
                SELECT device_id, metric_id, min(bucket), max(bucket), 0
                FROM iot_rollup_15m WHERE bucket >= %s AND bucket < %s {device_filter} GROUP BY 1, 2
            ) t GROUP BY 1, 2
            """,
            params + params,
        )
        return cursor.rowcount


def rollup_status() -> dict:
    """Watermark, last run and queue backlog, for operators and the health of the task."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.watermark_id, s.last_run_at, s.ranges_total,"
            " (SELECT count(*) FROM iot_rollup_dirty), (SELECT min(queued_at) FROM iot_rollup_dirty)"
            " FROM iot_rollup_state s WHERE s.id = 1"
        )
        watermark, last_run, total, backlog, oldest = cursor.fetchone()
    return {"watermark_id": watermark, "last_run_at": last_run, "ranges_total": total,
            "backlog": backlog, "oldest_queued_at": oldest}
