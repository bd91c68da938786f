"""Seeds the metric catalogue (iot/catalogue.py; existing codes are left alone)."""

from django.db import migrations


def seed(apps, schema_editor):
    from iot.catalogue import metrics_ensure

    metrics_ensure(apps.get_model("iot", "Metric"))


class Migration(migrations.Migration):
    dependencies = [("iot", "0002_reading_table")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
