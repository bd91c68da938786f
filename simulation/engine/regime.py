"""Italian CER/AUC incentive and valorisation (DOMAIN.md, "Italy: CER / CACER").

TIP (EUR/MWh) of plant p in hour h, with Pz the hourly zonal price:

    tip = min(cap_band, base_band + max(0, 180 - Pz)) + geo_correction   (after the cap)
    tip = tip x (1 - F),  F = 0.50 x grant_share / 0.40  (capped at 0.50)

The band is the plant's own power on its POD. CU_Af is the monthly valorisation rate.
Regimes without a TIP (France, Austria, P2P) value shared energy at the scenario's
``shared_bonus_eur_per_mwh`` (0 by default): their benefit is in the bills.
"""

from __future__ import annotations

import numpy as np

INCENTIVE_REGIMES = ("it_cer", "it_auc")

# Copy of DOMAIN.md's 2024 figures: used only when no RegimeParameters row exists.
DEFAULT_IT_PARAMS = {
    "tip_bands": [
        {"max_kw": 200, "base_eur_per_mwh": 80, "cap_eur_per_mwh": 120},
        {"max_kw": 600, "base_eur_per_mwh": 70, "cap_eur_per_mwh": 110},
        {"max_kw": None, "base_eur_per_mwh": 60, "cap_eur_per_mwh": 100},
    ],
    "tip_pz_reference_eur_per_mwh": 180,
    "tip_years": 20,
    "geo_correction_eur_per_mwh": {"north": 10, "centre": 4, "south": 0},
    "capital_grant": {"max_grant_share": 0.40, "max_reduction_factor": 0.50},
    "excess_threshold": 0.55,
    "excess_threshold_with_grant": 0.45,
    "cu_af_eur_per_mwh": {"transmission": 10.57, "distribution": 0.65, "total": 11.22},
}


def tip_band(params: dict, power_kw: float) -> dict:
    for band in params["tip_bands"]:
        if band["max_kw"] is None or power_kw <= band["max_kw"]:
            return band
    return params["tip_bands"][-1]


def grant_factor(params: dict, grant_pct: float) -> float:
    grant = params.get("capital_grant", DEFAULT_IT_PARAMS["capital_grant"])
    share = min(max(grant_pct / 100.0, 0.0), grant["max_grant_share"])
    return grant["max_reduction_factor"] * share / grant["max_grant_share"]


def tip_eur_per_mwh(
    params: dict,
    *,
    power_kw: float,
    zonal_eur_per_mwh: np.ndarray,
    geo_zone: str,
    capital_grant_pct: float = 0.0,
) -> np.ndarray:
    """Hourly TIP of one plant (EUR/MWh), DOMAIN.md's formula, band per plant."""
    band = tip_band(params, power_kw)
    ref = params.get("tip_pz_reference_eur_per_mwh", 180)
    capped = np.minimum(
        band["cap_eur_per_mwh"], band["base_eur_per_mwh"] + np.maximum(0.0, ref - zonal_eur_per_mwh)
    )
    geo = float(params.get("geo_correction_eur_per_mwh", {}).get(geo_zone, 0.0))
    return (capped + geo) * (1.0 - grant_factor(params, capital_grant_pct))


def cu_af_eur_per_mwh(params: dict) -> float:
    cu = params.get("cu_af_eur_per_mwh", {})
    return float(cu.get("total", 0.0)) if isinstance(cu, dict) else float(cu)


def excess_threshold(params: dict, *, any_grant: bool) -> float:
    return float(params["excess_threshold_with_grant"] if any_grant else params["excess_threshold"])
