"""Migration 0008: participation factor versions from days to quarter-hour instants. A day
becomes its local midnight in the membership's community's zone; going back keeps the
local day."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from communities.models import Membership, ParticipationFactor

BEFORE, AFTER = ("communities", "0007_participation_factor_versions"), ("communities",
                                                                       "0008_participation_factor_quarter_hours")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


@pytest.mark.django_db(transaction=True)
def test_days_become_local_midnights_and_back(world):
    vienna, new_york = world.a.community, world.b.community
    vienna.time_zone, new_york.time_zone = "Europe/Vienna", "America/New_York"
    vienna.save()
    new_york.save()
    here = Membership.objects.get(community=vienna, user=world.a.other_member)
    there = Membership.objects.get(community=new_york, user=world.b.other_member)
    try:
        migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO communities_participationfactor"
                " (membership_id, factor_pct, valid_from, valid_to, created_at)"
                " VALUES (%s, %s, %s, %s, now())",
                [(here.pk, 100, date(2025, 1, 1), date(2025, 7, 1)), (here.pk, 50, date(2025, 7, 1), None),
                 (there.pk, 80, date(2025, 3, 9), None)])
        migrate(AFTER)
        rows = list(ParticipationFactor.objects.order_by("membership_id", "valid_from")
                    .values_list("membership_id", "valid_from", "valid_to"))
        assert rows == [
            # CET, then CEST
            (here.pk, datetime(2024, 12, 31, 23, tzinfo=UTC), datetime(2025, 6, 30, 22, tzinfo=UTC)),
            (here.pk, datetime(2025, 6, 30, 22, tzinfo=UTC), None),
            (there.pk, datetime(2025, 3, 9, 5, tzinfo=UTC), None),  # EST midnight, the DST day itself
        ]
        # an intra-day change keeps its local day going back
        ParticipationFactor.objects.filter(membership=there).update(
            valid_from=datetime(2025, 3, 9, 15, 15, tzinfo=UTC))
        migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT membership_id, valid_from, valid_to FROM communities_participationfactor"
                           " ORDER BY membership_id, valid_from")
            assert cursor.fetchall() == [(here.pk, date(2025, 1, 1), date(2025, 7, 1)),
                                         (here.pk, date(2025, 7, 1), None),
                                         (there.pk, date(2025, 3, 9), None)]
    finally:
        migrate(AFTER)
