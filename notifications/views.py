"""Portal pages: the notification centre, the settings page, and the web push service
worker served from the site root (so its scope covers every page)."""

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_time
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.exceptions import DomainError, Invalid, NotFound
from notifications import selectors, services
from notifications.models import Channel, NotificationKind

SERVICE_WORKER = Path(__file__).parent / "static" / "notifications" / "sw.js"


@login_required
@require_GET
def centre(request):
    items = list(selectors.notifications_list(user=request.user)[:100])
    return render(request, "notifications/centre.html", {
        "items": items, "unread": sum(1 for n in items if n.read_at is None)})


@login_required
@require_POST
def mark_read(request, pk: int):
    try:
        with transaction.atomic():
            notification = services.notification_mark_read(user=request.user, notification_id=pk)
    except NotFound:
        return HttpResponse(status=404)
    if request.POST.get("open") and notification.url.startswith("/"):
        return redirect(notification.url)
    return redirect("notifications:centre")


@login_required
@require_POST
def mark_all_read(request):
    with transaction.atomic():
        services.notifications_mark_all_read(user=request.user)
    return redirect("notifications:centre")


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    if request.method == "POST":
        external = (Channel.EMAIL, Channel.PUSH, Channel.SMS)
        channels = {kind: {ch: f"{kind}:{ch}" in request.POST for ch in external}
                    for kind in NotificationKind.values}
        start, end = request.POST.get("quiet_start", ""), request.POST.get("quiet_end", "")
        try:
            parsed_start = parse_time(start) if start else None
            parsed_end = parse_time(end) if end else None
            if (start and parsed_start is None) or (end and parsed_end is None):
                raise Invalid(_("Enter times as HH:MM."))
            services.preferences_update(
                user=request.user, channels=channels, quiet_hours_given=True,
                quiet_start=parsed_start, quiet_end=parsed_end,
                time_zone=request.POST.get("time_zone", "").strip(),
                phone_e164=request.POST.get("phone_e164", "").strip())
        except DomainError as exc:
            detail = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.details.items()
                               if isinstance(v, list))
            messages.error(request, f"{exc.message} {detail}".strip())
        else:
            messages.success(request, _("Notification settings saved."))
        return redirect("notifications:settings")
    prefs = selectors.preferences_get(user=request.user)
    rows = [{"kind": kind, "label": label, "channels": [
        {"channel": ch, "label": ch_label, "enabled": prefs["channels"][kind][ch]}
        for ch, ch_label in Channel.choices if ch != Channel.IN_APP]}
        for kind, label in NotificationKind.choices]
    return render(request, "notifications/settings.html", {
        "rows": rows, "prefs": prefs, "vapid_public_key": settings.VAPID_PUBLIC_KEY,
        "channel_labels": [label for ch, label in Channel.choices if ch != Channel.IN_APP]})


@require_GET
@cache_control(max_age=0, no_cache=True)
def service_worker(request):
    """`/sw.js`: at the root so that its scope is the whole site."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    return response
