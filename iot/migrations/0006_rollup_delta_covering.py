"""A covering index (device, metric, bucket) INCLUDE (delta) on the 15-minute and hourly
rollups: the energy readers scan a meter's month from the index alone (iot/rollups/ddl.py).
Built CONCURRENTLY so an existing installation keeps ingesting while it is built."""

from django.db import migrations

LEVELS = ("15m", "1h")


def _create(level: str) -> str:
    return (f"CREATE INDEX CONCURRENTLY IF NOT EXISTS iot_rollup_{level}_delta_cover"
            f" ON iot_rollup_{level} (device_id, metric_id, bucket) INCLUDE (delta)")


def _drop(level: str) -> str:
    return f"DROP INDEX CONCURRENTLY IF EXISTS iot_rollup_{level}_delta_cover"


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("iot", "0005_rollups_alerts")]

    operations = [migrations.RunSQL(_create(level), _drop(level)) for level in LEVELS]
