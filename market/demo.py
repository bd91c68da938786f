"""Demo market: a small p2p community next to the demo CER ("Mercato San Lazzaro"), where a
prosumer (Sofia Ferri) publishes an offer and a consumer (Paolo Greco) takes it; yesterday's
meter readings (host injection, buyer withdrawal, 15-minute intervals) go through ingest
and the rollups, and the deliveries are settled through the ledger. Idempotent: keyed on the
slug, the POD codes, the meters' serials and the ledger's idempotency keys."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone

from billing import services as billing
from billing.models import Payment, PaymentStatus
from billing.providers import PROVIDERS
from communities.demo import SUBSTATION, _extra_user, boundary
from communities.models import Community, Membership, MeteringPoint
from communities.services import membership_create, metering_point_create
from iot.catalogue import metrics_ensure
from iot.devices.services import device_create
from iot.ingest.service import ingest
from iot.models import Device
from iot.rollups.service import rollup_run
from market.models import Allocation, Offer
from market.settlement import deliveries_settle

SLUG = "mercato-san-lazzaro"
HOST_POD, BUYER_POD = "IT001E41179901", "IT001E41179902"
DEMO_TOPUP = Decimal("50.00")


def _community(ctx) -> Community:
    community = Community.objects.filter(slug=SLUG).first()
    if community is None:
        community = Community.objects.create(
            name="Mercato San Lazzaro (p2p)",
            slug=SLUG,
            organization=ctx["organization"],
            regime="p2p",
            boundary=boundary(),
            primary_substation=SUBSTATION,
            market_zone="NORD",
            time_zone="Europe/Rome",
            currency="EUR",
            status="active",
        )
    community.referents.add(*ctx["users"]["referent"])
    return community


def _point(community, user, code: str, direction: str) -> MeteringPoint:
    membership = Membership.objects.filter(user=user, community=community, left_at__isnull=True).first()
    if membership is None:
        membership = membership_create(
            community=community, user=user, member_type=user.member_type, joined_at=date(2025, 1, 1)
        )
    point = MeteringPoint.objects.filter(code=code).first()
    if point is None:
        point = metering_point_create(
            membership=membership,
            code=code,
            location=Point(11.41, 44.47, srid=4326),
            primary_substation=SUBSTATION,
            market_zone="NORD",
            direction=direction,
        )
    return point


def _meter(point, serial: str) -> Device:
    device = Device.objects.filter(serial=serial).first()
    if device is None:
        metrics_ensure()
        device, _ = device_create(serial=serial, kind="meter", metering_point=point, expected_interval_s=900)
    return device


def _readings(host_meter, buyer_meter, day_start: datetime) -> None:
    """Two readings per 15 minutes: PV-shaped injection by day, a flat household draw."""
    items = []
    injected, withdrawn = 5000.0, 8000.0
    for i in range(96):
        t = day_start + timedelta(minutes=15 * i)
        hour = i / 4
        pv = max(0.0, 1.2 * (1 - ((hour - 13) / 6) ** 2))  # kWh per 15 minutes
        load = 0.35 if 7 <= hour < 22 else 0.12
        for device, metric, counter, step in (
            (host_meter, "energy_export_kwh", injected, pv),
            (buyer_meter, "energy_import_kwh", withdrawn, load),
        ):
            items.append(
                {
                    "device": device.serial,
                    "metric": metric,
                    "ts": t + timedelta(minutes=1),
                    "value": round(counter, 3),
                }
            )
            items.append(
                {
                    "device": device.serial,
                    "metric": metric,
                    "ts": t + timedelta(minutes=14),
                    "value": round(counter + step, 3),
                }
            )
        injected += pv
        withdrawn += load
    ingest(items, source="import")
    rollup_run()


def _fund(user) -> None:
    if Payment.objects.filter(user=user, amount=DEMO_TOPUP, status=PaymentStatus.SUCCEEDED).exists():
        return
    payment = billing.payment_start(payment=billing.payment_create(actor=user, amount=DEMO_TOPUP))
    body = json.dumps(
        {
            "id": f"demo-market-{payment.uuid}",
            "type": "payment.succeeded",
            "object": {"ref": payment.provider_ref, "amount": str(DEMO_TOPUP), "currency": payment.currency},
        }
    ).encode()
    billing.callback_receive(body=body, headers=PROVIDERS["dev"].sign(body))


def seed(ctx: dict, out) -> None:
    if not (settings.DEBUG or settings.BILLING_PROVIDER == "dev"):
        out.write("market: demo skipped (the dev payment provider is off)")
        return
    # Two people of their own, so the CER's members keep exactly one community.
    host = _extra_user("Sofia Ferri", "sofia.ferri", "prosumer", ctx["password"])
    buyer = _extra_user("Paolo Greco", "paolo.greco", "consumer", ctx["password"])
    community = _community(ctx)
    host_point = _point(community, host, HOST_POD, "both")
    buyer_point = _point(community, buyer, BUYER_POD, "withdrawal")
    yesterday = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=1
    )
    offer = Offer.objects.filter(community=community, host=host).first()
    if offer is None:
        offer = Offer.objects.create(
            community=community,
            host=host,
            metering_point=host_point,
            price_eur_per_kwh=Decimal("0.14"),
            valid_from=yesterday - timedelta(days=1),
            valid_to=yesterday + timedelta(days=60),
            cap_kwh=Decimal("500"),
            note="Fotovoltaico sul tetto, 6 kWp",
        )
    if not Allocation.objects.filter(offer=offer, buyer=buyer).exists():
        allocation = Allocation.objects.create(offer=offer, buyer=buyer, metering_point=buyer_point)
        Allocation.objects.filter(pk=allocation.pk).update(created_at=yesterday - timedelta(hours=1))
    host_meter, buyer_meter = _meter(host_point, "DEMO-MKT-HOST"), _meter(buyer_point, "DEMO-MKT-BUYER")
    _readings(host_meter, buyer_meter, yesterday)
    _fund(buyer)
    result = deliveries_settle(community=community, start=yesterday, end=yesterday + timedelta(days=1))
    out.write(
        f"market: {community.name}, offer #{offer.pk} by {host.email}, taken by {buyer.email}; "
        f"{result.deliveries} new deliveries ({result.energy_kwh} kWh, {result.amount_eur} EUR)"
    )
