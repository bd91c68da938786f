"""Market settlement speed: `deliveries_settle` over BUYERS buyers sharing one host's offer
for HOURS hours at 15-minute intervals (one ledger posting per delivery), against a
baseline in the same run: the same number of P2P postings through
`billing.services.wallet_transfer` alone (what the ledger costs without the market's reads,
split and delivery rows), and the pure split (`market.split.interval_split`) alone.

Everything is written inside one transaction that is rolled back at the end (the ledger is
append-only; nothing of the bench stays). Interval energy is written straight into the
15-minute rollup table. Sizes: BENCH_MARKET_BUYERS (20), BENCH_MARKET_HOURS (12).
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction

BUYERS = int(os.environ.get("BENCH_MARKET_BUYERS", "20"))
HOURS = int(os.environ.get("BENCH_MARKET_HOURS", "12"))


class _Rollback(Exception):
    pass


def _world(start: datetime):
    from accounts.models import Organization, User
    from billing import ledger
    from billing.models import EntryKind, PostingKind
    from communities.models import Community, Membership, MeteringPoint
    from communities.regime_sets import regime_parameters_ensure
    from iot.catalogue import metrics_ensure
    from iot.models import Device
    from market.models import Allocation, Offer

    regime_parameters_ensure()
    metrics_ensure()
    org = Organization.objects.create(name="Bench market", slug=f"bench-market-{random.randint(0, 10**9)}")
    community = Community.objects.create(
        name="Bench market", slug=org.slug, organization=org, regime="p2p", status="active"
    )

    def person(i: int, direction: str):
        user = User.objects.create_user(
            email=f"{org.slug}-{i}@example.com", username=f"{org.slug}-{i}", password=None
        )
        membership = Membership.objects.create(user=user, community=community, joined_at=date(2025, 1, 1))
        point = MeteringPoint.objects.create(
            code=f"IT999E{random.randint(10**7, 10**8 - 1)}", membership=membership, direction=direction
        )
        device = Device.objects.create(
            serial=f"{org.slug}-{i}", kind="meter", metering_point=point, community=community
        )
        return user, point, device

    host, host_point, host_device = person(0, "both")
    buyers = [person(i + 1, "withdrawal") for i in range(BUYERS)]
    offer = Offer.objects.create(
        community=community,
        host=host,
        metering_point=host_point,
        price_eur_per_kwh=Decimal("0.15"),
        valid_from=start - timedelta(days=1),
        valid_to=start + timedelta(days=2),
    )
    clearing = ledger.account_clearing(provider="dev")
    for i, (user, point, _device) in enumerate(buyers):
        Allocation.objects.create(offer=offer, buyer=user, metering_point=point)
        ledger.posting_create(
            legs=[
                ledger.LegSpec(clearing, Decimal("-1000.00"), EntryKind.TOPUP),
                ledger.LegSpec(ledger.account_wallet(user=user), Decimal("1000.00"), EntryKind.TOPUP),
            ],
            idempotency_key=f"{org.slug}-fund-{i}",
            kind=PostingKind.TOPUP,
        )
    Allocation.objects.filter(offer=offer).update(created_at=start - timedelta(hours=1))
    rng = random.Random(7)
    rows = []
    for k in range(HOURS * 4):
        t = start + timedelta(minutes=15 * k)
        rows.append((host_device.pk, "energy_export_kwh", t, rng.uniform(0.5, 3.0)))
        rows += [(d.pk, "energy_import_kwh", t, rng.uniform(0.0, 0.4)) for _u, _p, d in buyers]
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO iot_rollup_15m (device_id, metric_id, bucket, n, min_value, max_value, sum_value,"
            " first_value, last_value, first_ts, last_ts, delta)"
            " SELECT %s, m.id, %s, 2, 0, %s, %s, 0, %s, %s, %s, %s FROM iot_metric m WHERE m.code = %s",
            [(dev, t, v, v, v, t, t, v, code) for dev, code, t, v in rows],
        )
    return community, host, [b[0] for b in buyers]


def run() -> dict:
    from billing.services import wallet_transfer
    from market.settlement import deliveries_settle
    from market.split import AllocationSlot, OfferSlot, interval_split

    start = datetime(2026, 6, 1, tzinfo=UTC)
    out: dict = {"buyers": BUYERS, "intervals": HOURS * 4}
    try:
        with transaction.atomic():
            community, host, buyers = _world(start)
            t0 = time.perf_counter()
            result = deliveries_settle(community=community, start=start, end=start + timedelta(hours=HOURS))
            settle_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = deliveries_settle(community=community, start=start, end=start + timedelta(hours=HOURS))
            rerun_s = time.perf_counter() - t0
            n = result.deliveries
            t0 = time.perf_counter()
            for i in range(n):
                wallet_transfer(
                    buyer=buyers[i % len(buyers)],
                    seller=host,
                    amount=Decimal("0.05"),
                    fee=Decimal("0.01"),
                    idempotency_key=f"bench-market-baseline-{community.pk}-{i}",
                )
            baseline_s = time.perf_counter() - t0
            slots = [OfferSlot(1, 0, None, tuple(AllocationSlot(i, 100 + i) for i in range(BUYERS)))]
            t0 = time.perf_counter()
            for k in range(HOURS * 4):
                interval_split(
                    offers=slots,
                    injection={0: 2_000_000 + k},
                    withdrawal={100 + i: 150_000 + i for i in range(BUYERS)},
                )
            split_s = time.perf_counter() - t0
            out.update(
                {
                    "deliveries": n,
                    "rerun_new_deliveries": again.deliveries,
                    "settle_s": round(settle_s, 3),
                    "settle_deliveries_per_s": round(n / settle_s, 1) if settle_s else None,
                    "baseline_transfers_s": round(baseline_s, 3),
                    "baseline_transfers_per_s": round(n / baseline_s, 1) if baseline_s else None,
                    "ratio_settle_to_baseline": round(settle_s / baseline_s, 2) if baseline_s else None,
                    "rerun_s": round(rerun_s, 3),
                    "pure_split_ms_per_interval": round(1000 * split_s / (HOURS * 4), 3),
                }
            )
            raise _Rollback()
    except _Rollback:
        pass
    return out
