"""Seed the dated regime parameter sets of shared/DOMAIN.md (see communities/regime_sets.py)."""

from django.db import migrations

from communities.regime_sets import SETS, regime_parameters_ensure


def seed(apps, schema_editor):
    regime_parameters_ensure(apps.get_model("communities", "RegimeParameters"))


def unseed(apps, schema_editor):
    RegimeParameters = apps.get_model("communities", "RegimeParameters")
    for row in SETS:
        RegimeParameters.objects.filter(
            regime=row["regime"], version=row["version"], configurations__isnull=True
        ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("communities", "0002_substation_area"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
