"""Italian CER/AUC incentive and valorisation (DOMAIN.md, "Italy: CER / CACER").

TIP (EUR/MWh) of plant p in hour h, with Pz the hourly zonal price:

    tip = min(cap_band, base_band + max(0, 180 - Pz)) + geo_correction   (after the cap)
    tip = tip x (1 - F),  F = 0.50 x grant_share / 0.40  (capped at 0.50)

The band is the plant's own power on its POD. The valorisation is TRAS_E for a CER (AUC
adds BTAU and avoided losses); the excess premium is computed per set of plants.
Regimes without a TIP (France, Austria, P2P) value shared energy at the scenario's
``shared_bonus_eur_per_mwh`` (0 by default): their benefit is in the bills.
"""

from __future__ import annotations

import numpy as np

from energy_rules.figures import default_params

INCENTIVE_REGIMES = ("it_cer", "it_auc")
GEO_ZONES = ("north", "centre", "south")


# DOMAIN.md's Italian figures (the CER set), for the engine's tests and benchmarks.
DEFAULT_IT_PARAMS = default_params("it_cer")


def geo_zone_of_region(params: dict, region: str) -> str:
    """FC_zonale's zone of an Italian region (DOMAIN.md: North +10, Centre +4, else 0), from
    the parameter set's `geo_regions` lists. Raises ValueError for an unknown region."""
    from communities.regime_sets import CENTRE, NORTH

    lists = params.get("geo_regions") or {"north": NORTH, "centre": CENTRE}
    wanted = region.strip().casefold()
    for zone, regions in lists.items():
        if wanted in (r.casefold() for r in regions):
            return zone
    if wanted in (r.casefold() for r in ITALIAN_REGIONS):
        return "south"
    raise ValueError(f"{region!r} is not an Italian region")


ITALIAN_REGIONS = (
    "Abruzzo", "Basilicata", "Calabria", "Campania", "Emilia-Romagna", "Friuli-Venezia Giulia",
    "Lazio", "Liguria", "Lombardia", "Marche", "Molise", "Piemonte", "Puglia", "Sardegna",
    "Sicilia", "Toscana", "Trentino-Alto Adige", "Umbria", "Valle d'Aosta", "Veneto",
)


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


def gse_allocation(shared_kwh: np.ndarray, plant_injection: np.ndarray, order: np.ndarray) -> np.ndarray:
    """GSE rule (Regole Operative CACER 2024, Appendix A): the hour's shared energy goes to
    plants oldest first, each up to its own injection in that hour. ``order`` lists plant
    rows oldest first. Returns (P, T); never more than a plant injected, and the plants'
    parts sum to ``min(shared, total injection)``."""
    alloc = np.zeros_like(plant_injection)
    remaining = shared_kwh.copy()
    for p in order:
        take = np.minimum(remaining, plant_injection[p])
        alloc[p] = take
        remaining = remaining - take
    return alloc


def valorisation_eur_per_mwh(
    params: dict, *, regime: str, zonal_eur_per_mwh: np.ndarray, voltage: str = "lv", in_building: bool = True
) -> np.ndarray:
    """ARERA valorisation of self-consumed energy, EUR/MWh per interval (DOMAIN.md, Regole
    Operative 2024 section 2.2.2.2.2).

    CER and remote self-consumers: CU_Af,a = TRAS_E (the variable part of the LV
    transmission tariff) only. Groups in one building (AUC) add CU_Af,b (the highest BTAU
    distribution component) and the avoided losses cPR x Pz_h, on the energy of plants in
    their building (`in_building`), cPR by the plant's `voltage` (lv 2.6 %, mv 1.2 %)."""
    cu = params.get("cu_af_eur_per_mwh", {})
    tras_e = float(cu.get("transmission", 0.0)) if isinstance(cu, dict) else float(cu)
    rate = np.full(len(zonal_eur_per_mwh), tras_e)
    if regime == "it_auc" and in_building:
        btau = float(cu.get("distribution", 0.0)) if isinstance(cu, dict) else 0.0
        cpr = params.get("avoided_losses_cpr", {})
        cpr_v = float(cpr.get(voltage, cpr.get("lv", 0.0))) if isinstance(cpr, dict) else float(cpr)
        rate = rate + btau + cpr_v * np.asarray(zonal_eur_per_mwh, dtype=float)
    return rate


def excess_threshold(params: dict, *, any_grant: bool) -> float:
    return float(params["excess_threshold_with_grant"] if any_grant else params["excess_threshold"])


def excess_premium_eur(
    params: dict,
    *,
    incentivised_kwh: np.ndarray,
    injected_kwh: np.ndarray,
    tip_eur: np.ndarray,
    with_grant: np.ndarray,
) -> float:
    """The excess premium (exact EUR), DOMAIN.md: per set of plants j (TIP only, threshold
    55 %; TIP with a capital grant, 45 %), over the period (GSE checks it per year):

        ratio_j = E_incentivised_j / E_injected_j
        excess_eur_j = max(0, ratio_j - threshold_j) x TIP_total_eur_j

    Arguments are per plant: energy the TIP is paid on, energy injected, the TIP earned,
    whether the plant has a capital grant. Plants earning no TIP are in no set."""
    incentivised = np.asarray(incentivised_kwh, dtype=float)
    injected = np.asarray(injected_kwh, dtype=float)
    tip = np.asarray(tip_eur, dtype=float)
    grant = np.asarray(with_grant, dtype=bool)
    earning = tip > 0
    total = 0.0
    for in_set, has_grant in ((earning & ~grant, False), (earning & grant, True)):
        e_inj = float(injected[in_set].sum())
        if not in_set.any() or e_inj <= 0:
            continue
        ratio = float(incentivised[in_set].sum()) / e_inj
        total += max(0.0, ratio - excess_threshold(params, any_grant=has_grant)) * float(tip[in_set].sum())
    return total
