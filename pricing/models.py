"""Supply tariffs (time-of-use bands, flat, dynamic) and zonal market prices.

Nothing here holds a decree's figure: band definitions are rows of a versioned
`BandScheme` (the Italian ARERA F1/F2/F3 scheme is seeded by a data migration), tariff
prices are rows an operator enters, market prices are imported. Money in Decimal EUR;
prices per kWh for supply, per MWh for the market (their customary units).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import holidays
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from communities.models import Community, DateRange, MarketZone, Membership
from core.scoping import ScopedQuerySet

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@lru_cache(maxsize=256)
def library_holidays(country: str, year: int) -> frozenset[date]:
    """National public holidays of `country` in `year`, from the `holidays` library."""
    return frozenset(holidays.country_holidays(country, years=year).keys())


class BandSchemeQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.all()  # reference data: every staff member may read it


class BandScheme(models.Model):
    """A versioned set of time-of-use band rules (e.g. ARERA F1/F2/F3, version 2007).

    A local time falls in the band of the first matching rule (by `position`), else in
    `default_band`. National holidays come from the `holidays` library for
    `holiday_country`, corrected by `added_holidays` / `removed_holidays` (data an operator
    can fix when a law adds or removes a holiday the library does not yet know, or that
    the regulator does not count).
    """

    code = models.SlugField(max_length=40)
    version = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    holiday_country = models.CharField(max_length=2, default="IT")
    added_holidays = ArrayField(models.DateField(), default=list, blank=True)
    removed_holidays = ArrayField(models.DateField(), default=list, blank=True)
    default_band = models.CharField(max_length=8, help_text="Band of any time no rule matches.")
    source = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BandSchemeQuerySet.as_manager()

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="band_scheme_code_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code} {self.version})"

    def is_holiday(self, day: date) -> bool:
        if day in self.removed_holidays:
            return False
        if day in self.added_holidays:
            return True
        return day in library_holidays(self.holiday_country, day.year)

    def band_at(self, local: datetime) -> str:
        """The band of a *local* wall-clock time (the community's time zone)."""
        holiday = self.is_holiday(local.date())
        rules = getattr(self, "_rules_cache", None)
        if rules is None:
            rules = self._rules_cache = list(self.rules.all())
        for rule in rules:
            if rule.matches(local, holiday=holiday):
                return rule.band
        return self.default_band

    def bands(self) -> list[str]:
        names = {r.band for r in self.rules.all()} | {self.default_band}
        return sorted(names)


class BandRule(models.Model):
    """One line of a band table: on these days, between these hours, it is this band.

    `holidays`: `only` matches national holidays alone (whatever the weekday), `exclude`
    matches non-holidays alone, `any` both. Hours are local, `[hour_from, hour_to)`.
    """

    class Holidays(models.TextChoices):
        EXCLUDE = "exclude", "Not on holidays"
        ONLY = "only", "Only on holidays"
        ANY = "any", "Holidays or not"

    scheme = models.ForeignKey(BandScheme, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField(default=0)
    band = models.CharField(max_length=8)
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)]), default=list, blank=True,
        help_text="0 = Monday ... 6 = Sunday; empty = every day.",
    )
    months = ArrayField(
        models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(12)]),
        default=list, blank=True, help_text="1..12 (seasons); empty = every month.",
    )
    hour_from = models.PositiveSmallIntegerField(validators=[MaxValueValidator(23)])
    hour_to = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(24)])
    holidays = models.CharField(max_length=8, choices=Holidays.choices, default=Holidays.EXCLUDE)

    class Meta:
        ordering = ["scheme", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(hour_to__gt=F("hour_from")) & Q(hour_to__lte=24),
                                   name="band_rule_hours_ordered"),
        ]

    def __str__(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in self.weekdays) or "every day"
        return f"{self.band}: {days} {self.hour_from:02d}-{self.hour_to:02d} ({self.holidays})"

    def matches(self, local: datetime, *, holiday: bool) -> bool:
        if self.holidays == self.Holidays.ONLY and not holiday:
            return False
        if self.holidays == self.Holidays.EXCLUDE and holiday:
            return False
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        if self.months and local.month not in self.months:
            return False
        return self.hour_from <= local.hour < self.hour_to


class TariffKind(models.TextChoices):
    TIME_OF_USE = "tou", "Time of use (price per band)"
    FLAT = "flat", "Flat"
    DYNAMIC = "dynamic", "Dynamic (zonal price x multiplier + spread)"


class TariffQuerySet(ScopedQuerySet):
    def _scope(self, user):
        # Those who manage a community see all its tariffs; a member sees the community's
        # tariff and their own, never another member's.
        return self.filter(
            Q(community__in=Community.objects.managed_by(user))
            | Q(community__in=Community.objects.visible_to(user), membership__isnull=True)
            | Q(membership__user=user)
        )

    def _manage_scope(self, user):
        return self.filter(community__in=Community.objects.managed_by(user))


class Tariff(models.Model):
    """The supply tariff of a community (or of one membership, which wins) over
    `[valid_from, valid_to)`, local dates in the community's time zone."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="tariffs")
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, null=True, blank=True, related_name="tariffs",
        help_text="Empty: the community's tariff; set: this member's own tariff (it wins).",
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=TariffKind.choices, default=TariffKind.TIME_OF_USE)
    band_scheme = models.ForeignKey(
        BandScheme, on_delete=models.PROTECT, null=True, blank=True, related_name="tariffs",
        help_text="The band table: required for time of use; for the others it only labels hours.",
    )
    flat_eur_per_kwh = models.DecimalField(max_digits=10, decimal_places=6, null=True, blank=True)
    dynamic_multiplier = models.DecimalField(
        max_digits=8, decimal_places=4, null=True, blank=True,
        help_text="Dynamic: price = zonal EUR/MWh / 1000 x multiplier + spread (EUR/kWh).",
    )
    dynamic_spread_eur_per_kwh = models.DecimalField(max_digits=10, decimal_places=6, null=True, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Exclusive; empty = open.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TariffQuerySet.as_manager()

    class Meta:
        ordering = ["community", "membership", "-valid_from"]
        constraints = [
            # One tariff per scope at any date: the community's own, and each membership's.
            ExclusionConstraint(
                name="one_community_tariff",
                expressions=[
                    (F("community"), RangeOperators.EQUAL),
                    (DateRange("valid_from", "valid_to", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                condition=Q(membership__isnull=True),
            ),
            ExclusionConstraint(
                name="one_membership_tariff",
                expressions=[
                    (F("membership"), RangeOperators.EQUAL),
                    (DateRange("valid_from", "valid_to", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                condition=Q(membership__isnull=False),
            ),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                                   name="tariff_range_ordered"),
            models.CheckConstraint(
                condition=~Q(kind="tou") | Q(band_scheme__isnull=False), name="tou_tariff_has_bands"),
            models.CheckConstraint(
                condition=~Q(kind="flat") | Q(flat_eur_per_kwh__isnull=False), name="flat_tariff_has_price"),
            models.CheckConstraint(
                condition=~Q(kind="dynamic")
                | (Q(dynamic_multiplier__isnull=False) & Q(dynamic_spread_eur_per_kwh__isnull=False)),
                name="dynamic_tariff_has_formula"),
        ]
        indexes = [
            # supply_price: the tariff of a scope valid at a date
            models.Index(fields=["community", "membership", "valid_from"]),
        ]

    def __str__(self) -> str:
        who = f" / {self.membership.user}" if self.membership_id else ""
        return f"{self.community}{who}: {self.name} from {self.valid_from}"

    def clean(self):
        errors = {}
        if self.membership_id and self.community_id and self.membership.community_id != self.community_id:
            errors["membership"] = "This membership belongs to another community."
        if self.valid_to and self.valid_from and self.valid_to <= self.valid_from:
            errors["valid_to"] = "Must be after valid_from (the range is [valid_from, valid_to))."
        required = {
            TariffKind.TIME_OF_USE: ["band_scheme"],
            TariffKind.FLAT: ["flat_eur_per_kwh"],
            TariffKind.DYNAMIC: ["dynamic_multiplier", "dynamic_spread_eur_per_kwh"],
        }[self.kind]
        for name in required:
            value = self.band_scheme_id if name == "band_scheme" else getattr(self, name)
            if value is None:
                errors[name] = f"Required for a {self.get_kind_display().lower()} tariff."
        if not errors and self.community_id and self.valid_from:
            clash = self.overlapping().first()
            if clash is not None:
                errors["valid_from"] = f"Overlaps {clash.name} (from {clash.valid_from}) for the same scope."
        if errors:
            raise ValidationError(errors)

    def overlapping(self):
        qs = Tariff.objects.filter(community_id=self.community_id, membership_id=self.membership_id)
        if self.pk:
            qs = qs.exclude(pk=self.pk)
        qs = qs.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=self.valid_from))
        if self.valid_to:
            qs = qs.filter(valid_from__lt=self.valid_to)
        return qs

    def band_price(self, band: str) -> Decimal | None:
        prices = getattr(self, "_band_prices", None)
        if prices is None:
            prices = self._band_prices = {p.band: p.price_eur_per_kwh for p in self.band_prices.all()}
        return prices.get(band)


class TariffBandPrice(models.Model):
    """The price of one band of a time-of-use tariff, EUR/kWh (energy only, as billed)."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="band_prices")
    band = models.CharField(max_length=8)
    price_eur_per_kwh = models.DecimalField(max_digits=10, decimal_places=6,
                                            validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["tariff", "band"]
        constraints = [
            models.UniqueConstraint(fields=["tariff", "band"], name="one_price_per_tariff_band"),
            models.CheckConstraint(condition=Q(price_eur_per_kwh__gte=0), name="band_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.band}: {self.price_eur_per_kwh} EUR/kWh"


class PriceZone(models.TextChoices):
    """Market zones of `communities.MarketZone`, plus the Italian national price (PUN)."""

    PUN = "PUN", "Italy national price (PUN)"
    NORD = MarketZone.NORD.value, MarketZone.NORD.label
    CNOR = MarketZone.CNOR.value, MarketZone.CNOR.label
    CSUD = MarketZone.CSUD.value, MarketZone.CSUD.label
    SUD = MarketZone.SUD.value, MarketZone.SUD.label
    CALA = MarketZone.CALA.value, MarketZone.CALA.label
    SICI = MarketZone.SICI.value, MarketZone.SICI.label
    SARD = MarketZone.SARD.value, MarketZone.SARD.label
    FR = MarketZone.FR.value, MarketZone.FR.label
    AT = MarketZone.AT.value, MarketZone.AT.label


class PriceSource(models.TextChoices):
    CSV = "csv", "CSV import"
    GME_XML = "gme_xml", "GME day-ahead XML"
    DEMO = "demo", "Demo data"


class MarketPriceQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.all()  # public market data: every staff member may read it


class MarketPrice(models.Model):
    """A day-ahead zonal price of one interval `[interval_start, + resolution_minutes)`."""

    market_zone = models.CharField(max_length=8, choices=PriceZone.choices)
    interval_start = models.DateTimeField()
    resolution_minutes = models.PositiveSmallIntegerField(choices=[(15, "15 minutes"), (60, "1 hour")])
    price_eur_per_mwh = models.DecimalField(max_digits=12, decimal_places=6)
    source = models.CharField(max_length=8, choices=PriceSource.choices)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MarketPriceQuerySet.as_manager()

    class Meta:
        ordering = ["market_zone", "-interval_start"]
        constraints = [
            # Its unique index also serves zonal_prices(zone, start..end, resolution).
            models.UniqueConstraint(fields=["market_zone", "resolution_minutes", "interval_start"],
                                    name="one_price_per_zone_interval"),
        ]

    def __str__(self) -> str:
        return f"{self.market_zone} {self.interval_start:%Y-%m-%d %H:%M} {self.price_eur_per_mwh}"
