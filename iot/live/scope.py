"""Which live group a user may join: the same tenancy as the read API.

Streams (websocket and SSE) check again every IOT_STREAM_RECHECK_S seconds, with the user
read again from the database, and end with 4403 when the right is gone; every stream ends
after IOT_STREAM_MAX_LIFETIME_S (4408: reconnect, which authenticates afresh).

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


def live_recheck(user_id: int | None, params) -> LiveRefused | None:
    """Run again, for a stream that is open, whether its user may still follow its subject:
    the user is read again (suspended, deleted, role or membership changed). None when still
    allowed; else the refusal, always with 4403 / 403 (the right to see it is gone)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    try:
        live_group_for(user, params)
    except LiveRefused as refused:
        return LiveRefused(4403, 403, f"No longer allowed: {refused.message}")
    return None


def stream_recheck_s() -> float:
    from django.conf import settings

    return float(settings.IOT_STREAM_RECHECK_S)


def stream_max_lifetime_s() -> float:
    from django.conf import settings

    return float(settings.IOT_STREAM_MAX_LIFETIME_S)


LIFETIME_CLOSE_CODE = 4408  # the stream reached IOT_STREAM_MAX_LIFETIME_S: reconnect
