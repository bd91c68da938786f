"""The demo community's last month, settled: each demo smart meter gets the month's hourly
registers (the member's BDEW load profile and, on PODs with plants, the plants' PV under
the town's seeded sky, `forecasts.demo.plant_pv_kwh`) through the real ingest and rollups,
the zonal prices are completed from the pricing demo's curve, then the demo referent drafts,
approves and posts the run. GSE's yearly statement of the previous year is imported from the
sample file (its true-up waits for that year's December, which the demo does not settle).
Idempotent: a month already posted is left as it is."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.utils import timezone

from iot.ingest.service import ingest
from iot.models import Device
from iot.rollups.service import rollup_run
from pricing.demo import demo_price
from pricing.importing import PriceRow
from pricing.models import MarketPrice, PriceSource
from pricing.services import prices_upsert
from settlement import services
from settlement.gse import gse_statement_import
from settlement.models import SettlementRun
from settlement.selectors import period_bounds
from settlement.tasks import previous_month


def meter_net_kwh(device, start: datetime, hours: int, tz, pv_kwh=None) -> list[float]:
    """Hourly PV minus load (kWh) behind a demo smart meter from `start`: the member's BDEW
    profile (weekdays, holidays, seasons) with its own reproducible variability, against
    `pv_kwh`, the hourly production of the POD's plants (`forecasts.demo.plant_pv_kwh`: the
    same sky as their inverters' history), or nothing on a POD without plants."""
    import numpy as np
    import pandas as pd

    from simulation.physics import load_kw

    cs = device.connection or {}
    index = pd.date_range(start, periods=hours, freq="1h")
    load = load_kw(profile=str(cs.get("profile", "H0")), annual_kwh=float(cs.get("annual_kwh", 2500)),
                   index=index, seed=zlib.crc32(device.serial.encode()), time_zone=str(tz)).to_numpy()
    pv = np.zeros(hours) if pv_kwh is None else np.asarray(pv_kwh, dtype=float)[:hours]
    return [float(v) for v in pv - load]


def _meter_readings(device, start: datetime, end: datetime, tz) -> list[dict]:
    from forecasts.demo import plant_pv_kwh

    hours = int((end - start).total_seconds() // 3600)
    plants = list(device.metering_point.plants.all())
    pv = sum(plant_pv_kwh(p, start, hours) for p in plants) if plants else None
    imp, exp = 1000.0, 1000.0
    t = start - timedelta(minutes=30)
    items = [
        {"device": device.serial, "metric": m, "ts": t, "value": 1000.0}
        for m in ("energy_import_kwh", "energy_export_kwh")
    ]
    for h, net in enumerate(meter_net_kwh(device, start, hours, tz, pv)):
        imp += round(max(-net, 0.0), 4)
        exp += round(max(net, 0.0), 4)
        ts = start + timedelta(hours=h, minutes=30)
        items += [
            {"device": device.serial, "metric": "energy_import_kwh", "ts": ts, "value": imp},
            {"device": device.serial, "metric": "energy_export_kwh", "ts": ts, "value": exp},
        ]
    return items


def _prices(community, start: datetime, end: datetime, tz) -> None:
    have = set(
        MarketPrice.objects.filter(
            market_zone=community.market_zone,
            resolution_minutes=60,
            interval_start__gte=start,
            interval_start__lt=end,
        ).values_list("interval_start", flat=True)
    )
    rows, t = [], start
    while t < end:
        if t not in have:
            rows.append(PriceRow(0, community.market_zone, t, 60, demo_price(t.astimezone(tz))))
        t += timedelta(hours=1)
    if rows:
        prices_upsert(rows=rows, source=PriceSource.DEMO)


def _gse_statement(community, referent, year: int, out) -> None:
    sample = (Path(__file__).parent / "data" / "gse_statement_sample.csv").read_text(encoding="utf-8")
    body = sample.replace("\n2025;", f"\n{year};")
    report = gse_statement_import(actor=referent, community=community, data=body.encode(), source="demo")
    out.write(f"\nsettlement: GSE statement {year} imported ({report['created']} new rows)")


def seed(ctx: dict, out) -> None:
    community = ctx.get("community")
    referents = (ctx.get("users") or {}).get("referent") or []
    if community is None or not referents:
        out.write("\nsettlement: no demo community, nothing settled")
        return
    tz = ZoneInfo(community.time_zone)
    month = previous_month(timezone.now().astimezone(tz).date())
    _gse_statement(community, referents[0], month.year - 1, out)
    if SettlementRun.objects.filter(
        period__community=community, period__month=month, status="posted"
    ).exists():
        out.write(f"\nsettlement: {month:%Y-%m} already posted")
        return
    start, end = period_bounds(community, month)
    meters = (
        Device.objects.filter(kind="meter", metering_point__membership__community=community, protocol="mqtt")
        .select_related("metering_point")
        .prefetch_related("metering_point__plants")
    )
    items = []
    for device in meters:
        items += _meter_readings(device, start, end, tz)
    ingest(items, source="import")
    rollup_run()
    _prices(community, start.astimezone(UTC), end, tz)
    referent = referents[0]
    run = services.settlement_draft(actor=referent, community=community, month=month)
    out.write(f"\nsettlement: {month:%Y-%m} drafted (run {run.pk}, {run.lines.count()} lines)")
    if run.data_quality.get("blocking") or run.error:
        out.write(f"; left in draft: {run.error or run.data_quality['blocking'][:3]}")
        return
    run = services.settlement_post(actor=referent, run=services.settlement_approve(actor=referent, run=run))
    out.write(f", approved and posted by {referent.email}")
