"""Market fixtures: community A turned into a p2p community with a host (prosumer point)
and two buyers (withdrawal points), each point with a real meter whose readings go through
the ingest service and the rollups (no mocks)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from communities.models import Membership, MeteringPoint
from communities.regime_sets import regime_parameters_ensure
from conftest import make_user
from iot.ingest.service import ingest
from iot.rollups.service import rollup_run
from iot.testing.registry import make_device


def hour_ago(hours: int) -> datetime:
    now = timezone.now().astimezone(UTC)
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)


@dataclass
class Market:
    community: object
    host: object
    buyer: object
    buyer2: object
    host_point: object
    buyer_point: object
    buyer2_point: object
    meters: dict
    t0: datetime

    def energy(self, point, metric: str, per_interval: dict[datetime, float]) -> None:
        """Meter readings so that the 15-minute rollup of `point` holds `per_interval[t]`
        kWh of `metric` in the bucket starting at t (two readings inside each bucket)."""
        device = self.meters[point.pk]
        counter = self.meters.setdefault(("counter", point.pk, metric), [1000.0])
        items = []
        for t in sorted(per_interval):
            items.append(
                {
                    "device": device.serial,
                    "metric": metric,
                    "ts": t + timedelta(minutes=1),
                    "value": counter[0],
                }
            )
            counter[0] += per_interval[t]
            items.append(
                {
                    "device": device.serial,
                    "metric": metric,
                    "ts": t + timedelta(minutes=14),
                    "value": counter[0],
                }
            )
        result = ingest(items, source="import")
        assert result.rejected == 0, result.errors
        rollup_run()

    def inject(self, per_interval):
        self.energy(self.host_point, "energy_export_kwh", per_interval)

    def withdraw(self, point, per_interval):
        self.energy(point, "energy_import_kwh", per_interval)


@pytest.fixture
def market(world) -> Market:
    regime_parameters_ensure()
    community = world.a.community
    community.regime = "p2p"
    community.save(update_fields=["regime"])
    world.b.community.regime = "p2p"
    world.b.community.save(update_fields=["regime"])
    buyer2 = make_user("buyer2-a@example.com", full_name="Buyer Two")
    membership2 = Membership.objects.create(
        user=buyer2, community=community, joined_at=world.a.membership.joined_at
    )
    other_membership = Membership.objects.get(user=world.a.other_member, community=community)
    host_point = MeteringPoint.objects.create(
        code="IT001E80000001", membership=world.a.membership, direction="both"
    )
    buyer_point = MeteringPoint.objects.create(
        code="IT001E80000002", membership=other_membership, direction="withdrawal"
    )
    buyer2_point = MeteringPoint.objects.create(
        code="IT001E80000003", membership=membership2, direction="withdrawal"
    )
    meters = {}
    for i, p in enumerate((host_point, buyer_point, buyer2_point)):
        device, _ = make_device(f"MKT-MTR-{i}", kind="meter", metering_point=p, expected_interval_s=900)
        meters[p.pk] = device
    return Market(
        community,
        world.a.member,
        world.a.other_member,
        buyer2,
        host_point,
        buyer_point,
        buyer2_point,
        meters,
        hour_ago(48),
    )


def offer_make(market: Market, *, price="0.200000", cap=None, valid_from=None, valid_to=None):
    from market.services import offer_create

    return offer_create(
        actor=market.host,
        community_id=market.community.pk,
        metering_point_id=market.host_point.pk,
        price_eur_per_kwh=price,
        valid_from=valid_from or market.t0 - timedelta(days=1),
        valid_to=valid_to or timezone.now() + timedelta(days=1),
        cap_kwh=cap,
    )


def allocation_make(market: Market, offer, buyer, *, max_kwh=None, since=None):
    """An allocation taken `since` (default: a day before t0, so past intervals settle)."""
    from market.models import Allocation
    from market.services import allocation_create

    allocation = allocation_create(actor=buyer, offer_id=offer.pk, max_kwh=max_kwh)
    Allocation.objects.filter(pk=allocation.pk).update(created_at=since or market.t0 - timedelta(days=1))
    allocation.refresh_from_db()
    return allocation


def D(value) -> Decimal:
    return Decimal(str(value))
