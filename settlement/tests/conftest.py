"""A settled community: community A of the shared `world` with metering points, meters
reporting a whole month through the real ingest and rollups, zonal prices and a statute."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

MONTH = date(2025, 3, 1)  # Europe/Rome: 743 hours (DST starts on the 30th)
START = datetime(2025, 2, 28, 23, tzinfo=UTC)  # 00:00 in Rome
HOURS = 743


@dataclass
class Settled:
    world: object
    community: object
    producer_point: object
    consumer_point: object
    meters: dict


def hourly_counter(serial, metric, per_hour, hours=HOURS, start=START, skip=()):
    """Readings at :30 of each hour (and one before): each hour's bucket gets `per_hour(h)`."""
    value, items = (
        1000.0,
        [{"device": serial, "metric": metric, "ts": start - timedelta(minutes=30), "value": 1000.0}],
    )
    for h in range(hours):
        value += per_hour(h)
        if h in skip:
            continue
        items.append(
            {"device": serial, "metric": metric, "ts": start + timedelta(hours=h, minutes=30), "value": value}
        )
    return items


def add_prices(zone="NORD", price=Decimal("100"), start=START, hours=HOURS):
    from pricing.models import MarketPrice

    MarketPrice.objects.bulk_create(
        [
            MarketPrice(
                market_zone=zone,
                interval_start=start + timedelta(hours=h),
                resolution_minutes=60,
                price_eur_per_mwh=price,
                source="csv",
            )
            for h in range(hours)
        ]
    )


def make_settled(world, *, skip_consumer=()) -> Settled:
    from communities.models import Configuration, MeteringPoint
    from iot.ingest.service import ingest
    from iot.rollups.service import rollup_run
    from iot.testing.registry import make_device

    a = world.a
    other = a.community.memberships.exclude(pk=a.membership.pk).get()
    producer = MeteringPoint.objects.create(code="IT001E00000001", membership=a.membership, direction="both")
    consumer = MeteringPoint.objects.create(code="IT001E00000002", membership=other, direction="withdrawal")
    a.plant.metering_point = producer
    a.plant.save(update_fields=["metering_point"])
    Configuration.objects.create(community=a.community, name="Statute", valid_from=date(2025, 1, 1))
    m1, _ = make_device("SETTLE-M1", metering_point=producer, expected_interval_s=3600)
    m2, _ = make_device("SETTLE-M2", metering_point=consumer, expected_interval_s=3600)
    ingest(
        hourly_counter(m1.serial, "energy_export_kwh", lambda h: 2.0)
        + hourly_counter(m1.serial, "energy_import_kwh", lambda h: 0.5)
        + hourly_counter(m2.serial, "energy_import_kwh", lambda h: 1.0, skip=skip_consumer)
        + hourly_counter(m2.serial, "energy_export_kwh", lambda h: 0.0),
        source="import",
    )
    rollup_run()
    add_prices()
    return Settled(world, a.community, producer, consumer, {"m1": m1, "m2": m2})


@pytest.fixture
def settled(world):
    return make_settled(world)
