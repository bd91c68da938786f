"""Pricing fixtures on top of the shared two-tenant `world`."""

from datetime import date
from decimal import Decimal

import pytest

from pricing.band_schemes import band_schemes_ensure
from pricing.models import BandScheme, Tariff, TariffBandPrice

F_PRICES = {"F1": Decimal("0.300000"), "F2": Decimal("0.280000"), "F3": Decimal("0.250000")}


@pytest.fixture
def scheme(db):
    # Seeded by migration 0002; a transactional test elsewhere may have flushed it.
    band_schemes_ensure()
    return BandScheme.objects.get(code="it-arera-f123", version="2007")


def tou_tariff(community, scheme, *, membership=None, valid_from=date(2025, 1, 1), valid_to=None,
               prices=None, name="F1/F2/F3"):
    tariff = Tariff.objects.create(community=community, membership=membership, name=name, kind="tou",
                                   band_scheme=scheme, valid_from=valid_from, valid_to=valid_to)
    for band, price in (prices or F_PRICES).items():
        TariffBandPrice.objects.create(tariff=tariff, band=band, price_eur_per_kwh=price)
    return tariff
