"""Green windows (tomorrow's hours with expected community surplus) and what a member's
consumption in past windows earned against their own baseline.

A window is a maximal run of consecutive intervals of the local day whose expected surplus
(production - consumption, from the latest community forecast issued before the day) is at
least `ForecastSettings.green_window_min_kwh`. Its surplus is the energy members could
still draw in the community: consumption moved there becomes shared energy (DOMAIN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from django.utils import timezone
from django.utils.translation import gettext as _

from forecasts import calendar, measured
from forecasts.issue import _devices_by
from forecasts.models import Forecast, ForecastSettings, Quantity, SubjectKind

DISHWASHER_KWH = 1.2  # one dishwasher cycle (eco programme, EU energy label ~0.9-1.3 kWh)
BASELINE_DAYS = 14


@dataclass
class Window:
    start: datetime
    end: datetime
    surplus_kwh: float
    production_kwh: float
    consumption_kwh: float

    def as_dict(self, time_zone: str) -> dict:
        local_start, local_end = (timezone.localtime(self.start, _zone(time_zone)),
                                  timezone.localtime(self.end, _zone(time_zone)))
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "local_start": local_start.strftime("%H:%M"), "local_end": local_end.strftime("%H:%M"),
                "surplus_kwh": round(self.surplus_kwh, 1),
                "production_kwh": round(self.production_kwh, 1),
                "consumption_kwh": round(self.consumption_kwh, 1),
                "appliance_kwh": round(min(DISHWASHER_KWH, self.surplus_kwh), 1)}


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def min_surplus_kwh(community) -> float:
    found = ForecastSettings.objects.filter(community=community).values_list(
        "green_window_min_kwh", flat=True).first()
    return 1.0 if found is None else float(found)


def day_forecasts(*, community, day: date) -> tuple[dict[str, Forecast], datetime, int]:
    """The community's series of the latest issue before `day` began that covers it (else the
    latest issue covering its start): ({quantity: Forecast}, day start, steps)."""
    day_start, day_end = calendar.local_day_bounds(day, community.time_zone)
    base = Forecast.objects.filter(community=community, kind=SubjectKind.COMMUNITY, start__lte=day_start)
    issued = (base.filter(issued_at__lt=day_start).order_by("-issued_at")
              .values_list("issued_at", flat=True).first())
    series = {f.quantity: f for f in base.filter(issued_at=issued)} if issued else {}
    step = next(iter(series.values())).step_minutes if series else 60
    return series, day_start, int((day_end - day_start).total_seconds() // (step * 60))


def windows_from(series: np.ndarray, starts: list[datetime], step_minutes: int, *,
                 production: np.ndarray, consumption: np.ndarray, min_kwh: float) -> list[Window]:
    """Maximal runs of intervals with surplus >= min_kwh (a pure function)."""
    out: list[Window] = []
    run: list[int] = []
    for i in [*range(len(series)), None]:
        if i is not None and not np.isnan(series[i]) and series[i] >= min_kwh:
            run.append(i)
            continue
        if run:
            out.append(Window(start=starts[run[0]], end=starts[run[-1]] + timedelta(minutes=step_minutes),
                              surplus_kwh=float(series[run].sum()),
                              production_kwh=float(production[run].sum()),
                              consumption_kwh=float(consumption[run].sum())))
            run = []
    return out


def green_windows(*, community, day: date) -> list[Window]:
    from forecasts.scoring import _slice

    series, day_start, steps = day_forecasts(community=community, day=day)
    if Quantity.PRODUCTION not in series or Quantity.CONSUMPTION not in series:
        return []
    prod = _slice(series[Quantity.PRODUCTION], day_start, steps)
    cons = _slice(series[Quantity.CONSUMPTION], day_start, steps)
    step = series[Quantity.PRODUCTION].step_minutes
    starts = [day_start + timedelta(minutes=step * i) for i in range(steps)]
    return windows_from(prod - cons, starts, step, production=prod, consumption=cons,
                        min_kwh=min_surplus_kwh(community))


def window_message(windows: list[Window], time_zone: str) -> str:
    """The evening-before text: the largest window, its surplus and what a dishwasher keeps."""
    if not windows:
        return ""
    best = max(windows, key=lambda w: w.surplus_kwh).as_dict(time_zone)
    return _("%(start)s-%(end)s tomorrow: about %(surplus)s kWh of community surplus; running your "
             "dishwasher then keeps ~%(appliance)s kWh in the community") % {
        "start": best["local_start"], "end": best["local_end"],
        "surplus": f"{best['surplus_kwh']:.0f}", "appliance": f"{best['appliance_kwh']:.1f}"}


# --- what a member's shift earned ---------------------------------------------------------

def shift_earned(*, community, metering_point_ids: list[int], day: date) -> dict | None:
    """Shared energy the member's consumption in `day`'s green windows produced beyond their
    baseline, from metered energy.

    For each window interval h: the member's withdrawal w(h), their baseline b(h) (mean of the
    same local interval over the BASELINE_DAYS before), the community's shared fraction
    r(h) = shared / withdrawn (measured). earned = sum_h (w(h) - b(h)) x r(h) (kWh): the shared
    energy their extra consumption in the windows produced (negative: they consumed less).
    None when there were no windows or no measurements."""
    windows = green_windows(community=community, day=day)
    if not windows or not metering_point_ids:
        return None
    day_start, day_end = calendar.local_day_bounds(day, community.time_zone)
    step = 15 if calendar.step_minutes_of(community) == 15 else 60
    steps = int((day_end - day_start).total_seconds() // (step * 60))
    hist_start = day_start - timedelta(days=BASELINE_DAYS)
    per_day = 24 * 60 // step
    devices = _devices_by("metering_point", metering_point_ids, ("meter",))
    flat = [[d for ds in devices for d in ds]]
    history = measured.energy_matrix(devices_by_subject=flat, metric=measured.IMPORTED, start=hist_start,
                                     steps=BASELINE_DAYS * per_day + steps, step_minutes=step)[0]
    own = history[BASELINE_DAYS * per_day:]
    past = history[: BASELINE_DAYS * per_day].reshape(BASELINE_DAYS, per_day)
    with np.errstate(all="ignore"):
        baseline = np.nanmean(past, axis=0)
    baseline = np.resize(baseline, steps)  # DST days: 23 or 25 intervals
    community_meters = _devices_by("community", [community.pk], ("meter",))
    imp = measured.energy_matrix(devices_by_subject=community_meters, metric=measured.IMPORTED,
                                 start=day_start, steps=steps, step_minutes=step)[0]
    exp = measured.energy_matrix(devices_by_subject=community_meters, metric=measured.EXPORTED,
                                 start=day_start, steps=steps, step_minutes=step)[0]
    with np.errstate(all="ignore"):
        ratio = np.where(imp > 0, np.minimum(imp, exp) / imp, np.nan)
    in_window = np.zeros(steps, dtype=bool)
    for w in windows:
        lo = int((w.start - day_start).total_seconds() // (step * 60))
        hi = int((w.end - day_start).total_seconds() // (step * 60))
        in_window[max(0, lo):min(steps, hi)] = True
    ok = in_window & ~np.isnan(own) & ~np.isnan(baseline) & ~np.isnan(ratio)
    if not ok.any():
        return None
    return {"day": day.isoformat(), "windows": len(windows),
            "consumed_in_windows_kwh": round(float(own[ok].sum()), 3),
            "baseline_in_windows_kwh": round(float(baseline[ok].sum()), 3),
            "shifted_kwh": round(float((own[ok] - baseline[ok]).sum()), 3),
            "earned_shared_kwh": round(float(((own[ok] - baseline[ok]) * ratio[ok]).sum()), 3),
            "source": "metered"}
