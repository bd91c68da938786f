"""The portal's scenario wizard: pick members and plants of a community you manage, or
add simulated ones, size a battery, choose the regime and the period."""

from datetime import date

from django import forms

from energy_rules.it_cacer import INCENTIVE_REGIMES, ITALIAN_REGIONS
from simulation.physics import PROFILES
from simulation.serializers import REGIMES


class ScenarioWizardForm(forms.Form):
    name = forms.CharField(max_length=200, initial="What-if scenario")
    regime = forms.ChoiceField(choices=[(r, r) for r in REGIMES], initial="it_cer")
    start = forms.DateField(
        initial=date(date.today().year - 1, 1, 1), widget=forms.DateInput(attrs={"type": "date"})
    )
    days = forms.IntegerField(
        min_value=1, max_value=366, initial=365, help_text="Length of the simulated period."
    )
    resolution_minutes = forms.TypedChoiceField(
        choices=[(60, "Hourly"), (15, "15 minutes")], coerce=int, initial=60
    )
    memberships = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Members of the community"
    )
    plants = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Plants of the community"
    )
    simulated_households = forms.IntegerField(min_value=0, max_value=200, initial=5)
    household_kwh = forms.DecimalField(min_value=0, max_value=100000, initial=3000, label="kWh/year each")
    simulated_businesses = forms.IntegerField(min_value=0, max_value=50, initial=1)
    business_profile = forms.ChoiceField(choices=[(p, p) for p in PROFILES if p != "H0"], initial="G0")
    business_kwh = forms.DecimalField(min_value=0, max_value=10_000_000, initial=15000, label="kWh/year each")
    new_pv_kwp = forms.DecimalField(min_value=0, max_value=100000, initial=30, label="New PV (kWp)")
    region = forms.ChoiceField(
        choices=[("", "---------"), *((r, r) for r in ITALIAN_REGIONS)],
        required=False,
        label="Region of the plants",
        help_text="Italian regimes: the TIP's geographic correction (North +10, Centre +4 EUR/MWh) "
        "follows the plants' region.",
    )
    lat = forms.FloatField(min_value=-90, max_value=90, initial=44.49)
    lon = forms.FloatField(min_value=-180, max_value=180, initial=11.34)
    battery_kwh = forms.DecimalField(min_value=0, max_value=100000, initial=20, label="Battery (kWh)")
    battery_kw = forms.DecimalField(min_value=0, max_value=100000, initial=10, label="Battery power (kW)")

    def __init__(self, *args, community=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.community = community
        if community is None:
            del self.fields["memberships"], self.fields["plants"]
            return
        self.fields["memberships"].choices = [
            (str(ms.pk), f"{ms.user} ({ms.member_type})")
            for ms in community.memberships.current().select_related("user")
        ]
        self.fields["plants"].choices = [
            (str(p.pk), f"{p.name} ({p.capacity_kwp} kWp)") for p in community.plants.all()
        ]
        self.initial.setdefault("memberships", [c for c, _ in self.fields["memberships"].choices])
        self.initial.setdefault("plants", [c for c, _ in self.fields["plants"].choices])

    def clean(self):
        data = super().clean()
        has_plants = bool(data.get("new_pv_kwp")) or bool(data.get("plants"))
        if data.get("regime") in INCENTIVE_REGIMES and has_plants and not data.get("region"):
            self.add_error("region", "Pick the plants' region: the TIP's geographic correction follows it.")
        return data

    def scenario_data(self) -> dict:
        """The API's scenario JSON for the picked and simulated participants."""
        from datetime import datetime, time, timedelta
        from zoneinfo import ZoneInfo

        d = self.cleaned_data
        tz = self.community.time_zone if self.community else "Europe/Rome"
        start = datetime.combine(d["start"], time(), ZoneInfo(tz))
        members, plants, batteries = [], [], []
        keys_by_user: dict[int, str] = {}
        if self.community is not None:
            picked = (
                self.community.memberships.current()
                .filter(pk__in=d.get("memberships") or [])
                .select_related("user")
            )
            for ms in picked:
                key = f"u{ms.user_id}"
                keys_by_user[ms.user_id] = key
                members.append(
                    {
                        "key": key,
                        "name": str(ms.user),
                        "membership": ms.pk,
                        "profile": "H0",
                        "annual_kwh": "0" if ms.member_type == "producer" else "3000",
                    }
                )
            for plant in self.community.plants.filter(pk__in=d.get("plants") or []):
                key = keys_by_user.get(plant.owner_id)
                if key is None:
                    key = f"plant{plant.pk}"
                    members.append({"key": key, "name": f"{plant.name} (producer)", "annual_kwh": "0"})
                plants.append(
                    {
                        "member": key,
                        "plant": plant.pk,
                        "name": plant.name,
                        "lat": plant.location.y,
                        "lon": plant.location.x,
                        "kwp": str(plant.capacity_kwp),
                        "tilt_deg": str(plant.tilt_deg),
                        "azimuth_deg": str(plant.azimuth_deg),
                        "losses_pct": str(plant.losses_pct),
                        "commissioned_on": plant.commissioned_on.isoformat()
                        if plant.commissioned_on
                        else None,
                    }
                )
        for i in range(d["simulated_households"]):
            members.append(
                {
                    "key": f"home{i + 1}",
                    "name": f"Simulated household {i + 1}",
                    "profile": "H0",
                    "annual_kwh": str(d["household_kwh"]),
                }
            )
        for i in range(d["simulated_businesses"]):
            members.append(
                {
                    "key": f"biz{i + 1}",
                    "name": f"Simulated business {i + 1}",
                    "profile": d["business_profile"],
                    "annual_kwh": str(d["business_kwh"]),
                    "business": True,
                }
            )
        if d["new_pv_kwp"] or d["battery_kwh"]:
            members.append(
                {"key": "newplant", "name": "New community plant", "profile": "G0", "annual_kwh": "2000"}
            )
        if d["new_pv_kwp"]:
            plants.append(
                {
                    "member": "newplant",
                    "name": "New PV",
                    "lat": d["lat"],
                    "lon": d["lon"],
                    "kwp": str(d["new_pv_kwp"]),
                }
            )
        if d["battery_kwh"] and d["battery_kw"]:
            batteries.append(
                {
                    "member": "newplant",
                    "capacity_kwh": str(d["battery_kwh"]),
                    "power_kw": str(d["battery_kw"]),
                }
            )
        return {
            "name": d["name"],
            "community": self.community.pk if self.community else None,
            "regime": d["regime"],
            "start": start.isoformat(),
            "end": (start + timedelta(days=d["days"])).isoformat(),
            "resolution_minutes": d["resolution_minutes"],
            "time_zone": tz,
            **({"region": d["region"]} if d.get("region") else {}),
            "members": members,
            "plants": plants,
            "batteries": batteries,
        }
