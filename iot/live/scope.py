"""Which live group a user may join: the same tenancy as the read API.

`?device=` a device visible to the user; `?plant=` a plant visible to the user; `?community=`
a community the user manages (referent, vendor, admin): a member is refused, because the
community stream carries the other members' meter data.
"""

from dataclasses import dataclass

from iot.ingest.service import community_group, device_group, plant_group

KINDS = ("device", "plant", "community")


@dataclass
class LiveRefused(Exception):
    """`code` is the websocket close code; `status` the HTTP status for SSE."""

    code: int
    status: int
    message: str


def live_group_for(user, params) -> tuple[str, str, int]:
    """(group name, kind, id) for the query parameters, or raise LiveRefused."""
    if user is None or not user.is_authenticated:
        raise LiveRefused(4401, 401, "Authentication required.")
    given = [k for k in KINDS if params.get(k) not in (None, "")]
    if len(given) != 1:
        raise LiveRefused(4400, 400, "Give exactly one of device, plant or community.")
    kind = given[0]
    try:
        pk = int(params.get(kind))
    except (TypeError, ValueError):
        raise LiveRefused(4400, 400, f"{kind} must be an id.")
    if kind == "device":
        from iot.models import Device

        if not Device.objects.visible_to(user).filter(pk=pk).exists():
            raise LiveRefused(4404, 404, "Device not found.")
        return device_group(pk), kind, pk
    if kind == "plant":
        from plants.models import Plant

        if not Plant.objects.visible_to(user).filter(pk=pk).exists():
            raise LiveRefused(4404, 404, "Plant not found.")
        return plant_group(pk), kind, pk
    from communities.models import Community

    if not Community.objects.visible_to(user).filter(pk=pk).exists():
        raise LiveRefused(4404, 404, "Community not found.")
    if not Community.objects.managed_by(user).filter(pk=pk).exists():
        raise LiveRefused(4403, 403, "Only the community's referents may follow the whole community.")
    return community_group(pk), kind, pk


def live_frame(event: dict) -> dict:
    """What a client receives for one `telemetry.readings` group message."""
    return {"type": "readings", "device": event["device"], "serial": event.get("serial"),
            "plant": event.get("plant"), "community": event.get("community"),
            "readings": event["readings"]}
