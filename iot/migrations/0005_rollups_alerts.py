"""Rollup tables, the late-data queue and its triggers on iot_reading (a frozen copy of iot/rollups/ddl.py),
the Alert model, and the two every-minute beat tasks of the read side."""

import django.db.models.deletion
from django.db import migrations, models

CREATE_SQL = """CREATE TABLE iot_rollup_15m (
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
);
CREATE TABLE iot_rollup_1h (
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
);
CREATE TABLE iot_rollup_1d (
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
);
CREATE TABLE iot_rollup_1mo (
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
);
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
DROP TABLE IF EXISTS iot_rollup_15m;
DROP TABLE IF EXISTS iot_rollup_1h;
DROP TABLE IF EXISTS iot_rollup_1d;
DROP TABLE IF EXISTS iot_rollup_1mo;"""

TASKS = {
    "iot: roll up readings (15m, 1h, 1d, 1mo)": "iot.rollups.tasks.rollup_run_task",
    "iot: offline detection and alerts": "iot.rollups.tasks.device_offline_check_task",
}


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    for name, task in TASKS.items():
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": every_minute, "enabled": True}
        )


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__in=TASKS.values()).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('iot', '0004_partition_beat_task'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
    ]

    operations = [
        migrations.RunSQL(CREATE_SQL, DROP_SQL),
        migrations.RunPython(register, unregister),
        migrations.CreateModel(
            name='Alert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('offline', 'Device offline'), ('back_online', 'Device back online')], max_length=16)),
                ('opened_at', models.DateTimeField()),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('last_seen', models.DateTimeField(blank=True, help_text="The device's last data when the alert was raised.", null=True)),
                ('message', models.CharField(max_length=300)),
                ('notified_at', models.DateTimeField(blank=True, help_text='When referents were emailed.', null=True)),
                ('device', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='iot.device')),
            ],
            options={
                'ordering': ['-opened_at', '-id'],
                'indexes': [models.Index(fields=['device', '-opened_at'], name='iot_alert_device__95442f_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('closed_at__isnull', True), ('kind', 'offline')), fields=('device',), name='iot_alert_one_open_outage')],
            },
        ),
    ]
