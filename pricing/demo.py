"""Demo prices and tariff: an F1/F2/F3 supply tariff for the demo community and NORD hourly
day-ahead prices for the last 60 days, today and tomorrow (so the forecast endpoint shows
day-ahead hours, and forecast hours past tomorrow's last one).

The prices have a plausible daily shape (night trough, morning ramp, midday solar dip,
evening peak, weekend discount) and a deterministic day-to-day wobble; they are not real
GME figures. Idempotent: the tariff is keyed on its name, and prices are only added where
none is stored (an imported real price is never overwritten by demo data).
"""

import math
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from communities.demo import SLUG
from communities.models import Community
from pricing.band_schemes import band_schemes_ensure
from pricing.importing import PriceRow
from pricing.models import BandScheme, MarketPrice, PriceSource, Tariff, TariffBandPrice
from pricing.services import prices_upsert, tariff_save

TARIFF_NAME = "Fornitura F1/F2/F3 (demo)"
# Illustrative energy prices per band, EUR/kWh (the simulation's defaults), not an offer.
BAND_PRICES = {"F1": Decimal("0.300000"), "F2": Decimal("0.280000"), "F3": Decimal("0.250000")}
HISTORY_DAYS = 60


def demo_price(local: datetime) -> Decimal:
    """EUR/MWh for the local hour starting at `local`."""
    h = local.hour
    shape = (1.0 + 0.35 * math.exp(-((h - 19.5) ** 2) / 4.0) + 0.15 * math.exp(-((h - 8.0) ** 2) / 3.0)
             - 0.30 * math.exp(-((h - 13.0) ** 2) / 6.0) - 0.12 * math.exp(-((h - 3.5) ** 2) / 5.0))
    weekend = 0.88 if local.weekday() >= 5 else 1.0
    wobble = (zlib.crc32(local.date().isoformat().encode()) % 2000) / 10000.0 - 0.1  # +-10 % per day
    return Decimal(str(round(105.0 * shape * weekend * (1 + wobble), 2)))


def _tariff(community, ctx) -> Tariff:
    tariff = Tariff.objects.filter(community=community, membership__isnull=True, name=TARIFF_NAME).first()
    if tariff is None:
        band_schemes_ensure()
        scheme = BandScheme.objects.get(code="it-arera-f123", version="2007")
        tariff = Tariff(community=community, name=TARIFF_NAME, kind="tou", band_scheme=scheme,
                        valid_from=date(2025, 1, 1))
        tariff_save(actor=ctx["users"]["referent"][0], tariff=tariff)
    for band, price in BAND_PRICES.items():
        TariffBandPrice.objects.get_or_create(tariff=tariff, band=band, defaults={"price_eur_per_kwh": price})
    return tariff


def _prices(community, today: date) -> int:
    tz = ZoneInfo(community.time_zone)
    start = datetime.combine(today - timedelta(days=HISTORY_DAYS), datetime.min.time(), tz).astimezone(UTC)
    end = datetime.combine(today + timedelta(days=2), datetime.min.time(), tz).astimezone(UTC)
    have = set(MarketPrice.objects.filter(market_zone=community.market_zone, resolution_minutes=60,
                                          interval_start__gte=start, interval_start__lt=end)
               .values_list("interval_start", flat=True))
    rows, t = [], start
    while t < end:
        if t not in have:
            rows.append(PriceRow(0, community.market_zone, t, 60, demo_price(t.astimezone(tz))))
        t += timedelta(hours=1)
    return prices_upsert(rows=rows, source=PriceSource.DEMO).created


def seed(ctx: dict, out) -> None:
    community = ctx.get("community") or Community.objects.get(slug=SLUG)
    tariff = _tariff(community, ctx)
    created = _prices(community, timezone.now().astimezone(ZoneInfo(community.time_zone)).date())
    out.write(f"\npricing: tariff {tariff.name}; {created} {community.market_zone} hourly prices added "
              f"(last {HISTORY_DAYS} days, today and tomorrow)")
