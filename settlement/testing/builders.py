"""Build `SettlementInputs` by hand for the worked examples and the properties (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np

from energy_rules.figures import default_params
from settlement.regimes.base import PlantInfo, PointInfo, SettlementInputs, Statute

SOUTH, CENTRE, NORTH = "Puglia", "Toscana", "Lombardia"


def inputs(
    *,
    injections: list[list[float]],
    withdrawals: list[list[float]],
    plants: list[dict],
    consumers: list[dict] | None = None,
    pz: list[float] | float = 100.0,
    regime: str = "it_cer",
    statute=(Decimal(55), Decimal(40), Decimal(5)),
    params: dict | None = None,
    closes_year: bool = False,
    year_to_date: dict | None = None,
) -> SettlementInputs:
    """One producer point per plant (rows 0..P-1, injecting `injections[p]`), then one
    consumer point per `withdrawals` row. `plants[p]` holds PlantInfo overrides."""
    n_t = len((injections or withdrawals)[0])
    points, inj_rows, wd_rows, plant_infos = [], [], [], []
    for i, (series, over) in enumerate(zip(injections, plants, strict=True)):
        points.append(
            PointInfo(
                id=1000 + i,
                membership_id=100 + i,
                user_id=10 + i,
                member_type="producer",
                direction="injection",
            )
        )
        inj_rows.append(series)
        wd_rows.append([0.0] * n_t)
        spec = {
            "id": 1 + i,
            "point_index": i,
            "membership_id": 100 + i,
            "power_kw": 100.0,
            "commissioned_on": date(2024, 6, 1),
            "region": SOUTH,
            **over,
        }
        plant_infos.append(PlantInfo(**spec))
    consumers = consumers or [{} for _ in withdrawals]
    for j, (series, over) in enumerate(zip(withdrawals, consumers, strict=True)):
        spec = {
            "id": 2000 + j,
            "membership_id": 200 + j,
            "user_id": 20 + j,
            "member_type": "consumer",
            "direction": "withdrawal",
            **over,
        }
        points.append(PointInfo(**spec))
        inj_rows.append([0.0] * n_t)
        wd_rows.append(series)
    pz_arr = np.full(n_t, float(pz)) if np.isscalar(pz) else np.asarray(pz, dtype=float)
    start = np.datetime64("2025-03-01T00:00:00")
    return SettlementInputs(
        regime=regime,
        interval_starts=start + np.arange(n_t) * np.timedelta64(3600, "s"),
        interval_minutes=60,
        points=points,
        withdrawal_kwh=np.asarray(wd_rows, dtype=float).reshape(len(points), n_t),
        injection_kwh=np.asarray(inj_rows, dtype=float).reshape(len(points), n_t),
        plants=plant_infos,
        zonal_eur_per_mwh=pz_arr,
        statute=Statute(*statute),
        params={**default_params(regime), **(params or {})},
        params_version="2024",
        closes_year=closes_year,
        year_to_date=year_to_date or {},
    )
