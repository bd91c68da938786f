"""Input validation for scenarios, and the shapes of the API's answers."""

from datetime import timedelta
from decimal import Decimal

from rest_framework import serializers

from energy_rules.it_cacer import (
    GEO_ZONES,
    INCENTIVE_REGIMES,
    ITALIAN_REGIONS,
    default_params,
    geo_zone_of_region,
)
from simulation import limits
from simulation.models import Resolution, SimulationRun
from simulation.physics import PROFILES

REGIMES = ("it_cer", "it_auc", "fr_acc", "at_eeg", "p2p")
MAX_SPAN = timedelta(days=366)


class MemberIn(serializers.Serializer):
    key = serializers.RegexField(r"^[A-Za-z0-9_.\-]{1,64}$")
    name = serializers.CharField(max_length=200, required=False)
    membership = serializers.IntegerField(required=False, allow_null=True)
    profile = serializers.ChoiceField(choices=PROFILES, default="H0")
    annual_kwh = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), default=3000
    )
    business = serializers.BooleanField(default=False)


class PlantIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    member = serializers.CharField(max_length=64)
    plant = serializers.IntegerField(required=False, allow_null=True)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)
    kwp = serializers.DecimalField(max_digits=10, decimal_places=3, min_value=Decimal("0.001"))
    tilt_deg = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=90, default=30)
    azimuth_deg = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=360, default=180
    )
    losses_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=99, default=14
    )
    inverter_kw = serializers.DecimalField(
        max_digits=10, decimal_places=3, min_value=Decimal("0.001"), required=False, allow_null=True
    )
    commissioned_on = serializers.DateField(required=False, allow_null=True)
    region = serializers.ChoiceField(
        choices=ITALIAN_REGIONS,
        required=False,
        help_text="The plant's Italian region: its geographic correction (FC_zonale) follows from it.",
    )
    geo_zone = serializers.ChoiceField(
        choices=GEO_ZONES, required=False, help_text="Instead of `region`: north, centre or south."
    )
    capital_grant_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=40, default=0
    )


class BatteryIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    member = serializers.CharField(max_length=64)
    capacity_kwh = serializers.DecimalField(max_digits=10, decimal_places=3, min_value=Decimal("0.001"))
    power_kw = serializers.DecimalField(max_digits=10, decimal_places=3, min_value=Decimal("0.001"))
    charge_efficiency = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=Decimal("0.01"), max_value=1, default=Decimal("0.95")
    )
    discharge_efficiency = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=Decimal("0.01"), max_value=1, default=Decimal("0.95")
    )
    soc_min_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, default=10
    )
    soc_max_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, default=100
    )
    soc_initial_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, default=50
    )

    def validate(self, attrs):
        if not attrs["soc_min_pct"] <= attrs["soc_initial_pct"] <= attrs["soc_max_pct"]:
            raise serializers.ValidationError("SoC limits must satisfy min <= initial <= max.")
        return attrs


class BuyPricesIn(serializers.Serializer):
    F1 = serializers.DecimalField(max_digits=8, decimal_places=5, min_value=0, default=Decimal("0.30"))
    F2 = serializers.DecimalField(max_digits=8, decimal_places=5, min_value=0, default=Decimal("0.28"))
    F3 = serializers.DecimalField(max_digits=8, decimal_places=5, min_value=0, default=Decimal("0.25"))


class TariffsIn(serializers.Serializer):
    buy_eur_per_kwh = BuyPricesIn(required=False)
    export_price_eur_per_mwh = serializers.FloatField(
        required=False, allow_null=True, min_value=-500, max_value=5000
    )
    zonal_mean_eur_per_mwh = serializers.FloatField(required=False, min_value=0, max_value=2000, default=110)
    shared_bonus_eur_per_mwh = serializers.FloatField(required=False, min_value=0, max_value=2000, default=0)


class EconomicsIn(serializers.Serializer):
    pv_capex_eur_per_kwp = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, default=1300
    )
    battery_capex_eur_per_kwh = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, default=600
    )
    extra_capex_eur = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, default=0)
    opex_pct_of_capex = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, default=Decimal("1.5")
    )
    discount_rate_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=50, default=4
    )
    lifetime_years = serializers.IntegerField(min_value=1, max_value=50, default=20)


class StatuteIn(serializers.Serializer):
    producers_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    consumers_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    fund_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)

    def validate(self, attrs):
        total = attrs["producers_pct"] + attrs["consumers_pct"] + attrs["fund_pct"]
        if total != 100:
            raise serializers.ValidationError(f"The statute split must add up to 100 (is {total}).")
        return attrs


class ScenarioIn(serializers.Serializer):
    """A what-if scenario. Either `scenario` (re-run a stored one) or the scenario itself."""

    scenario = serializers.IntegerField(required=False, help_text="Re-run this stored scenario.")
    name = serializers.CharField(max_length=200, default="What-if scenario")
    community = serializers.IntegerField(required=False, allow_null=True)
    import_community = serializers.BooleanField(
        default=False, help_text="Add the community's current members, plants and batteries."
    )
    region = serializers.ChoiceField(
        choices=ITALIAN_REGIONS,
        required=False,
        help_text="Italian region of the imported plants (and of plants without their own).",
    )
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False, help_text="Exclusive.")
    resolution_minutes = serializers.ChoiceField(choices=Resolution.values, default=60)
    time_zone = serializers.CharField(max_length=64, required=False)
    regime = serializers.ChoiceField(choices=REGIMES, default="it_cer")
    regime_overrides = serializers.DictField(required=False, default=dict)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=1)
    members = MemberIn(many=True, required=False, default=list)
    plants = PlantIn(many=True, required=False, default=list)
    batteries = BatteryIn(many=True, required=False, default=list)
    tariffs = TariffsIn(required=False)
    zonal_price_eur_per_mwh = serializers.ListField(
        child=serializers.FloatField(min_value=-500, max_value=5000),
        required=False,
        allow_null=True,
        max_length=40000,
    )
    economics = EconomicsIn(required=False)
    statute = StatuteIn(required=False)
    co2_kg_per_kwh = serializers.DecimalField(
        max_digits=6, decimal_places=4, min_value=0, max_value=2, default=Decimal("0.25")
    )

    def to_internal_value(self, data):
        # Bounded before the items are validated one by one (a million members is refused cheaply).
        if isinstance(data, dict):
            sizes = {k: data.get(k) for k in ("members", "plants", "batteries")}
            limits.check_counts(**{k: len(v) if isinstance(v, list) else 0 for k, v in sizes.items()})
        return super().to_internal_value(data)

    def validate(self, attrs):
        if attrs.get("scenario") is not None:
            return attrs
        if "end" in attrs and "start" not in attrs:
            raise serializers.ValidationError({"start": "required when end is given."})
        if "start" in attrs and "end" not in attrs and not self.context.get("csv_keys"):
            attrs["end"] = attrs["start"] + timedelta(days=365)
        if "start" in attrs and "end" in attrs:
            if attrs["end"] <= attrs["start"]:
                raise serializers.ValidationError({"end": "must be after start."})
            if attrs["end"] - attrs["start"] > MAX_SPAN:
                raise serializers.ValidationError({"end": "a scenario spans at most 366 days."})
            step = timedelta(minutes=attrs["resolution_minutes"])
            limits.check_steps(int((attrs["end"] - attrs["start"]) / step))
        keys = [m["key"] for m in attrs["members"]]
        if len(keys) != len(set(keys)):
            raise serializers.ValidationError({"members": "member keys must be unique."})
        _resolve_geo_zones(attrs)
        known = set(keys) | set(self.context.get("csv_keys", ()))
        for field in ("plants", "batteries"):
            for i, item in enumerate(attrs[field]):
                if item["member"] not in known:
                    raise serializers.ValidationError(
                        {field: f"item {i}: member {item['member']!r} is not among the members."}
                    )
        return attrs


def _resolve_geo_zones(attrs: dict) -> None:
    """Each plant's FC_zonale zone from its region (DOMAIN.md), never a silent default: an
    Italian incentive scenario needs the region (or zone) of every plant."""
    incentive = attrs["regime"] in INCENTIVE_REGIMES
    params = default_params(attrs["regime"]) if incentive else {}
    for i, plant in enumerate(attrs["plants"]):
        region = plant.get("region") or attrs.get("region")
        zone = geo_zone_of_region(params, region) if incentive and region else None
        if plant.get("geo_zone") and zone and plant["geo_zone"] != zone:
            raise serializers.ValidationError(
                {"plants": f"item {i}: geo_zone {plant['geo_zone']!r} but {region} is {zone!r}."}
            )
        zone = plant.get("geo_zone") or zone
        if incentive and zone is None:
            raise serializers.ValidationError(
                {"plants": f"item {i}: region is required (the TIP's geographic correction follows it)."}
            )
        plant["geo_zone"] = zone or ""
    if incentive and attrs.get("import_community") and not attrs.get("region"):
        raise serializers.ValidationError(
            {"region": "required to import the community's plants (the TIP's geographic correction)."}
        )
    if incentive and attrs.get("region"):
        attrs["geo_zone"] = geo_zone_of_region(params, attrs["region"])


class RunOut(serializers.ModelSerializer):
    job = serializers.UUIDField(read_only=True)
    scenario = serializers.IntegerField(source="scenario_id", read_only=True)
    scenario_name = serializers.CharField(source="scenario.name", read_only=True)
    progress_pct = serializers.FloatField(read_only=True)

    class Meta:
        model = SimulationRun
        fields = [
            "job",
            "scenario",
            "scenario_name",
            "status",
            "progress_pct",
            "stage",
            "message",
            "solver_status",
            "timings",
            "created_at",
            "started_at",
            "finished_at",
        ]


class RunDetailOut(RunOut):
    results = serializers.JSONField(source="summary", read_only=True)

    class Meta(RunOut.Meta):
        fields = [*RunOut.Meta.fields, "results"]


class JobOut(serializers.Serializer):
    job = serializers.UUIDField()
    scenario = serializers.IntegerField()
    status = serializers.CharField()
    progress_url = serializers.CharField()
    websocket_url = serializers.CharField()
    result_url = serializers.CharField()
