"""The member home's green-windows card (core.home_cards slot)."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from forecasts import calendar, selectors, windows


def green_windows_card(request) -> dict | None:
    community = selectors.communities_visible(user=request.user).first()
    if community is None:
        return None
    day = timezone.localtime(timezone.now(), calendar.zone(community.time_zone)).date() + timedelta(days=1)
    series, _start, _steps = windows.day_forecasts(community=community, day=day)
    if not series:
        return None
    found = windows.green_windows(community=community, day=day)
    return {"template": "portal/_card.html", "context": {
        "title": _("Green windows tomorrow"),
        "value": None,
        "note": windows.window_message(found, community.time_zone) if found
        else _("No community surplus expected tomorrow."),
        "link": reverse("forecasts:page"), "link_text": _("Forecast and green windows"),
    }}
