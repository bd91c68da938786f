"""Participation factor versions from any quarter hour: `valid_from` / `valid_to` become
timestamptz (a day becomes its local midnight in the community's time zone), the versions'
exclusion constraint a tstzrange, and both bounds are checked to sit on the 15-minute grid.

Reversible: going back keeps each bound's local day (a change at 10:15 then starts at that
day's midnight, as the day-based history could only say)."""

import communities.models
import django.contrib.postgres.constraints
import django.db.models.functions.comparison
import django.db.models.functions.math
import django.db.models.lookups
from django.db import migrations, models

TABLE = "communities_participationfactor"
ZONE = ("(SELECT c.time_zone FROM communities_membership m JOIN communities_community c ON c.id = m.community_id"
        f" WHERE m.id = {TABLE}.membership_id)")

TO_INSTANTS = f"""
UPDATE {TABLE} SET
    valid_from_at = valid_from::timestamp AT TIME ZONE {ZONE},
    valid_to_at = valid_to::timestamp AT TIME ZONE {ZONE};
"""
TO_DAYS = f"""
UPDATE {TABLE} SET
    valid_from = (valid_from_at AT TIME ZONE {ZONE})::date,
    valid_to = (valid_to_at AT TIME ZONE {ZONE})::date;
"""
# The rows just updated must not leave deferred trigger events pending before the ALTERs below
# ("cannot ALTER TABLE because it has pending trigger events").
IMMEDIATE = "SET CONSTRAINTS ALL IMMEDIATE;"


class Migration(migrations.Migration):

    dependencies = [
        ("communities", "0007_participation_factor_versions"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="participationfactor", name="participation_factor_versions_disjoint"),
        migrations.RemoveConstraint(model_name="participationfactor", name="participation_factor_version_ordered"),
        migrations.AlterField(
            model_name="participationfactor", name="valid_from",
            field=models.DateField(null=True, verbose_name="valid from"),
        ),
        migrations.AddField(model_name="participationfactor", name="valid_from_at",
                            field=models.DateTimeField(null=True)),
        migrations.AddField(model_name="participationfactor", name="valid_to_at",
                            field=models.DateTimeField(null=True)),
        migrations.RunSQL(TO_INSTANTS + IMMEDIATE, TO_DAYS + IMMEDIATE),
        migrations.RemoveField(model_name="participationfactor", name="valid_from"),
        migrations.RemoveField(model_name="participationfactor", name="valid_to"),
        migrations.RenameField(model_name="participationfactor", old_name="valid_from_at", new_name="valid_from"),
        migrations.RenameField(model_name="participationfactor", old_name="valid_to_at", new_name="valid_to"),
        migrations.AlterField(
            model_name="participationfactor", name="valid_from",
            field=models.DateTimeField(verbose_name="valid from"),
        ),
        migrations.AlterField(
            model_name="participationfactor", name="valid_to",
            field=models.DateTimeField(blank=True, help_text="Exclusive; empty = open.", null=True,
                                       verbose_name="valid to"),
        ),
        migrations.AddConstraint(
            model_name="participationfactor",
            constraint=django.contrib.postgres.constraints.ExclusionConstraint(
                expressions=[(models.F("membership"), "="),
                             (communities.models.TsTzRange("valid_from", "valid_to", models.Value("[)")), "&&")],
                name="participation_factor_versions_disjoint"),
        ),
        migrations.AddConstraint(
            model_name="participationfactor",
            constraint=models.CheckConstraint(
                condition=models.Q(("valid_to__isnull", True), ("valid_to__gt", models.F("valid_from")),
                                   _connector="OR"),
                name="participation_factor_version_ordered"),
        ),
        migrations.AddConstraint(
            model_name="participationfactor",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    django.db.models.lookups.Exact(
                        django.db.models.functions.math.Mod(communities.models.EpochSeconds("valid_from"), 900), 0),
                    django.db.models.lookups.Exact(
                        django.db.models.functions.math.Mod(
                            django.db.models.functions.comparison.Coalesce(
                                communities.models.EpochSeconds("valid_to"), 0), 900), 0)),
                name="participation_factor_version_quarter_hours"),
        ),
    ]
