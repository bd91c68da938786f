"""Portal pages of telemetry: the live dashboard and a device's page with history charts.

Both render the first state on the server (same selectors as the API) and then update in
the browser: websocket frames (static/js/iot_live.js) and the timeseries API for charts
(static/js/iot_charts.js)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from communities.models import Community
from core.errors import ApiError
from core.exceptions import Forbidden, NotFound
from iot.models import Device, Metric
from iot.read.dashboards import dashboard_overview
from iot.read.selectors import RESOLUTIONS, devices_of, latest_values


@login_required
def live_dashboard(request):
    """The user's own devices; `?community=<id>` for a community the user manages (one
    community websocket then, instead of one per device)."""
    raw = request.GET.get("community", "")
    if raw and not raw.isdigit():
        raise Http404
    community_id = int(raw) if raw else None
    try:
        devices = devices_of(user=request.user, community_id=community_id)
    except Forbidden as exc:  # visible, not managed: the portal's 403 page
        raise PermissionDenied(exc.message) from exc
    except (NotFound, ApiError) as exc:
        raise Http404 from exc
    latest = latest_values(device_ids=[d.id for d in devices], metric_codes=["power_w", "soc_pct"])
    rows = [{"device": d, "power": latest[d.id].get("power_w"), "soc": latest[d.id].get("soc_pct")}
            for d in devices]
    return render(request, "iot/dashboard.html", {
        "overview": dashboard_overview(devices=devices), "rows": rows,
        "device_ids": [d.id for d in devices], "community_id": community_id,
        # staff land here with no devices of their own: offer their communities' live views
        "managed_communities": Community.objects.managed_by(request.user).order_by("name"),
    })


@login_required
def device_detail(request, pk: int):
    device = get_object_or_404(Device.objects.visible_to(request.user).select_related("plant", "community"),
                               pk=pk)
    latest = latest_values(device_ids=[device.id])[device.id]
    units = dict(Metric.objects.filter(code__in=latest).values_list("code", "unit"))
    values = [{"code": code, "unit": units.get(code, ""), **v} for code, v in sorted(latest.items())]
    return render(request, "iot/device_detail.html", {
        "device": device, "values": values, "resolutions": [*RESOLUTIONS, "auto"],
        "default_metric": "power_w" if "power_w" in latest else (values[0]["code"] if values else "power_w"),
    })
