# ruff: noqa: S608  - SQL is assembled from module constants (table names, levels); values are bound.
"""DDL of the rollup tables, the dirty-range queue and its triggers. Migration
`iot.0005_rollups_alerts` applies a frozen copy of this text; change both together (a new
migration) if the schema changes.

Tables are raw SQL (not Django models) for the same reason as `iot_reading`: they are
written by set-based SQL only and read with `array_agg`; a surrogate id column and
per-row foreign keys would only cost space and load time. Deleting readings (as
`device_delete` does) queues their range like any write, and the next rollup run removes
the buckets left without readings.
"""

LEVELS = ("15m", "1h", "1d", "1mo")

ROLLUP_COLUMNS = """
    device_id   bigint           NOT NULL,
    metric_id   integer          NOT NULL,
    bucket      timestamptz      NOT NULL,
    n           integer          NOT NULL,
    min_value   double precision NOT NULL,
    max_value   double precision NOT NULL,
    sum_value   double precision NOT NULL,
    first_value double precision NOT NULL,
    last_value  double precision NOT NULL,
    first_ts    timestamptz      NOT NULL,
    last_ts     timestamptz      NOT NULL,
    delta       double precision NULL,
    resets      integer          NOT NULL DEFAULT 0,
    gaps        integer          NOT NULL DEFAULT 0,
    updated_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, metric_id, bucket)
"""


# The energy readers (settlement, homes, market, forecasts) read a meter's `delta` over a
# month; rows are written hour after hour, so a meter's month lies on ~one page per row.
# With `delta` in the index they are read from the index alone (index-only scan, the
# visibility map kept by autovacuum): 10,000 points' month 34 s -> 12 s under load.
# Index `iot_rollup_{15m,1h}_delta_cover`, created by migration
# `iot.0006_rollup_delta_covering` (CONCURRENTLY).


def _table(level: str) -> str:
    return f"CREATE TABLE iot_rollup_{level} ({ROLLUP_COLUMNS});"


CREATE_SQL = "\n".join(_table(level) for level in LEVELS) + """
-- One row: the watermark (highest queue id rolled up) and when the task last ran.
CREATE TABLE iot_rollup_state (
    id           integer     PRIMARY KEY CHECK (id = 1),
    watermark_id bigint      NOT NULL DEFAULT 0,
    last_run_at  timestamptz NULL,
    ranges_total bigint      NOT NULL DEFAULT 0
);
INSERT INTO iot_rollup_state (id) VALUES (1);

-- Late-data queue: every statement that writes iot_reading appends, per (device, metric),
-- the range of timestamps it touched. The rollup task consumes it in id order; the highest
-- id consumed is the watermark (iot_rollupwatermark).
CREATE TABLE iot_rollup_dirty (
    id        bigserial   PRIMARY KEY,
    device_id bigint      NOT NULL,
    metric_id integer     NOT NULL,
    ts_min    timestamptz NOT NULL,
    ts_max    timestamptz NOT NULL,
    n         integer     NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION iot_rollup_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO iot_rollup_dirty (device_id, metric_id, ts_min, ts_max, n)
        SELECT device_id, metric_id, min(ts), max(ts), count(*) FROM new_rows GROUP BY 1, 2;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO iot_rollup_dirty (device_id, metric_id, ts_min, ts_max, n)
        SELECT device_id, metric_id, min(ts), max(ts), count(*)
        FROM (SELECT device_id, metric_id, ts FROM new_rows
              UNION ALL SELECT device_id, metric_id, ts FROM old_rows) t GROUP BY 1, 2;
    ELSE
        INSERT INTO iot_rollup_dirty (device_id, metric_id, ts_min, ts_max, n)
        SELECT device_id, metric_id, min(ts), max(ts), count(*) FROM old_rows GROUP BY 1, 2;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER iot_reading_rollup_ins AFTER INSERT ON iot_reading
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION iot_rollup_mark_dirty();
CREATE TRIGGER iot_reading_rollup_upd AFTER UPDATE ON iot_reading
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION iot_rollup_mark_dirty();
CREATE TRIGGER iot_reading_rollup_del AFTER DELETE ON iot_reading
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION iot_rollup_mark_dirty();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS iot_reading_rollup_ins ON iot_reading;
DROP TRIGGER IF EXISTS iot_reading_rollup_upd ON iot_reading;
DROP TRIGGER IF EXISTS iot_reading_rollup_del ON iot_reading;
DROP FUNCTION IF EXISTS iot_rollup_mark_dirty();
DROP TABLE IF EXISTS iot_rollup_dirty;
DROP TABLE IF EXISTS iot_rollup_state;
""" + "\n".join(f"DROP TABLE IF EXISTS iot_rollup_{level};" for level in LEVELS)
