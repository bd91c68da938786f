"""Seed the ARERA F1/F2/F3 band scheme as data (see pricing/band_schemes.py)."""

from django.db import migrations

from pricing.band_schemes import SCHEMES, band_schemes_ensure


def seed(apps, schema_editor):
    band_schemes_ensure(apps.get_model("pricing", "BandScheme"), apps.get_model("pricing", "BandRule"))


def unseed(apps, schema_editor):
    BandScheme = apps.get_model("pricing", "BandScheme")
    for spec in SCHEMES:
        BandScheme.objects.filter(code=spec["code"], version=spec["version"], tariffs__isnull=True).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("pricing", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
