"""The readings table, range-partitioned by month, with a DEFAULT partition so a reading
outside every monthly partition is stored rather than refused (partitions_ensure moves it
into its month when that partition is created).

The model state (`Reading`) is declared alongside, so Django knows the table (test flushes
truncate it) without ever trying to create it.
"""

import django.db.models.deletion
from django.db import migrations, models

SQL = """
CREATE TABLE iot_reading (
    device_id bigint NOT NULL,
    metric_id integer NOT NULL,
    ts timestamptz NOT NULL,
    value double precision NOT NULL,
    PRIMARY KEY (device_id, metric_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE iot_reading_default PARTITION OF iot_reading DEFAULT;
"""

REVERSE = """
DROP TABLE IF EXISTS iot_reading CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [("iot", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(SQL, REVERSE)],
            state_operations=[
                migrations.CreateModel(
                    name='Reading',
                    fields=[
                        ('pk', models.CompositePrimaryKey('device_id', 'metric_id', 'ts', blank=True, editable=False, primary_key=True, serialize=False)),
                        ('ts', models.DateTimeField()),
                        ('value', models.FloatField()),
                        ('device', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='iot.device')),
                        ('metric', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='iot.metric')),
                    ],
                    options={
                        'db_table': 'iot_reading',
                        'ordering': ['device_id', 'metric_id', 'ts'],
                    },
                ),
            ],
        ),
    ]
