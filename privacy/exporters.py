"""The GDPR export's registry: one exporter per kind of data, each app's rows about a person.

`register(name)` decorates `fn(user) -> iterable of flat dicts`; the export writes each as
`<name>.csv`, and as `<name>.json` too unless `json=False` (readings: one row per value, CSV
only, streamed). Later apps (settlement statements, notifications) add theirs from their
AppConfig.ready:

    from privacy.exporters import register

    @register("settlement_lines")
    def _lines(user):
        return SettlementLine.objects.filter(member=user).values(...)

Exporters list what the platform holds *about* the person; secrets (password and device
hashes) are never exported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Exporter:
    name: str
    rows: Callable[[object], Iterable[dict]]
    json: bool = True


EXPORTERS: dict[str, Exporter] = {}


def register(name: str, *, json: bool = True):
    def wrap(fn):
        EXPORTERS[name] = Exporter(name=name, rows=fn, json=json)
        return fn

    return wrap


# --- the built-in apps --------------------------------------------------------------------


@register("profile")
def _profile(user):
    from accounts.models import User

    return User.objects.filter(pk=user.pk).values(
        "id", "email", "username", "full_name", "fiscal_code", "address", "role", "member_type",
        "user_type", "status", "organization_id", "preferences", "is_verified", "date_joined",
        "last_login", "created_at", "updated_at")


@register("consents")
def _consents(user):
    from privacy.models import Consent

    return Consent.objects.filter(user=user).values(
        "policy__version", "accepted_at", "withdrawn_at")


@register("memberships")
def _memberships(user):
    from communities.models import Membership

    return Membership.objects.filter(user=user).values(
        "id", "community_id", "community__name", "member_type", "role", "participation_factor_pct",
        "joined_at", "left_at", "status", "created_at")


@register("metering_points")
def _pods(user):
    from communities.models import MeteringPoint

    return ({**row, "location": row["location"].wkt if row["location"] else ""}
            for row in MeteringPoint.objects.filter(membership__user=user).values(
                "id", "code", "membership_id", "location", "primary_substation", "market_zone",
                "direction", "meter_serial", "is_smart_meter", "created_at"))


def _devices(user):
    from django.db.models import Q

    from iot.models import Device

    return Device.objects.filter(Q(plant__owner=user) | Q(metering_point__membership__user=user))


@register("plants")
def _plants(user):
    from plants.models import Plant

    return ({**row, "location": row["location"].wkt if row["location"] else ""}
            for row in Plant.objects.filter(owner=user).values(
                "id", "name", "community_id", "location", "capacity_kwp", "technology", "status",
                "commissioned_on"))


@register("assets")
def _assets(user):
    from plants.models import Asset

    return Asset.objects.filter(plant__owner=user).values(
        "id", "plant_id", "kind", "manufacturer", "model", "serial", "capacity_kwh", "power_kw",
        "installed_on")


@register("devices")
def _device_rows(user):
    return _devices(user).values("id", "name", "serial", "kind", "protocol", "plant_id",
                                 "metering_point_id", "community_id", "is_active", "last_seen",
                                 "created_at")


@register("device_commands")
def _commands(user):
    from iot.models import DeviceCommand

    return DeviceCommand.objects.filter(device__in=_devices(user)).values(
        "command_id", "device_id", "command", "payload", "status", "created_at", "acked_at", "error")


@register("alerts")
def _alerts(user):
    from iot.models import Alert

    return Alert.objects.filter(device__in=_devices(user)).values(
        "id", "device_id", "kind", "opened_at", "closed_at", "message")


@register("readings", json=False)
def _readings(user):
    from iot.models import Reading

    rows = (Reading.objects.filter(device__in=_devices(user)).order_by("device_id", "metric_id", "ts")
            .values_list("device_id", "metric__code", "ts", "value"))
    return ({"device_id": d, "metric": m, "ts": ts, "value": v} for d, m, ts, v in rows.iterator(5000))


@register("simulations")
def _simulations(user):
    from django.db.models import Q

    from simulation.models import SimulationRun

    return SimulationRun.objects.filter(
        Q(created_by=user) | Q(scenario__members__membership__user=user)).distinct().values(
        "job", "scenario_id", "scenario__name", "status", "created_at", "finished_at", "summary")


@register("wallet_accounts")
def _accounts(user):
    from billing.models import Account

    return Account.objects.filter(user=user).values("id", "kind", "currency", "balance", "held",
                                                    "created_at")


@register("wallet_entries")
def _legs(user):
    from billing.models import Leg

    return Leg.objects.filter(account__user=user).order_by("id").values(
        "id", "posting_id", "account_id", "amount", "kind", "created_at", "posting__kind",
        "posting__reason", "posting__currency")


@register("payments")
def _payments(user):
    from billing.models import Payment

    return Payment.objects.filter(user=user).values("uuid", "provider", "amount", "currency",
                                                    "status", "created_at")


@register("payouts")
def _payouts(user):
    from billing.models import Payout

    return Payout.objects.filter(user=user).values("uuid", "provider", "amount", "currency", "iban",
                                                   "status", "created_at")
