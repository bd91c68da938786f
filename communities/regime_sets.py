"""The dated, versioned regime parameter sets of shared/DOMAIN.md (rules change by decree:
every figure lives here and in the database, never as a constant in the calculations).

Seeded by migration communities/0003; `regime_parameters_ensure()` upserts them again
(tests that flush the database, new environments)."""

NORTH = ["Emilia-Romagna", "Friuli-Venezia Giulia", "Liguria", "Lombardia", "Piemonte",
         "Trentino-Alto Adige", "Valle d'Aosta", "Veneto"]
CENTRE = ["Lazio", "Marche", "Toscana", "Umbria", "Abruzzo"]

TIP = {
    # Per plant, by the plant's power on its POD (not the community's total).
    "tip_bands": [
        {"max_kw": 200, "base_eur_per_mwh": 80, "cap_eur_per_mwh": 120},
        {"max_kw": 600, "base_eur_per_mwh": 70, "cap_eur_per_mwh": 110},
        {"max_kw": None, "base_eur_per_mwh": 60, "cap_eur_per_mwh": 100},
    ],
    # TIP = min(cap, base + max(0, pz_reference - Pz)) + geographic correction
    "tip_pz_reference_eur_per_mwh": 180,
    "tip_years": 20,
    # PV only, added after the cap (DM 414/2023 Annex 1 region lists).
    "geo_correction_eur_per_mwh": {"north": 10, "centre": 4, "south": 0},
    "geo_correction_after_cap": True,
    "geo_regions": {"north": NORTH, "centre": CENTRE},
    # TIP x (1 - F); F linear from 0 (no grant) to 0.50 at a 40 % capital grant.
    "capital_grant": {"max_grant_share": 0.40, "max_reduction_factor": 0.50},
    # excess_share = max(0, E_shared / E_injected - threshold): that share of the premium
    # goes only to non-business consumers or to social purposes.
    "excess_threshold": 0.55,
    "excess_threshold_with_grant": 0.45,
    # ARERA valorisation, monthly: E_shared x CU_Af,m (LV transmission + highest
    # distribution component), 2024.
    "cu_af_eur_per_mwh": {"transmission": 10.57, "distribution": 0.65, "total": 11.22},
    "interval_minutes": 60,
    "sharing_requires_same": "market_zone",
    "incentive_requires_same": "primary_substation",
    "allocation_order": "commissioning_date_oldest_first",
}

SETS = [
    {
        "regime": "it_cer", "version": "2024", "valid_from": "2024-01-24", "valid_to": None,
        "params": TIP,
        "source": "DM MASE 414/2023 (Annex 1); ARERA TIAD 727/2022; GSE Regole Operative CACER; "
                  "CU_Af 2024 via Regione Emilia-Romagna",
    },
    {
        "regime": "it_auc", "version": "2024", "valid_from": "2024-01-24", "valid_to": None,
        "params": {
            **TIP,
            # groups in one building also get avoided network losses (2023 figures).
            "avoided_losses_eur_per_mwh": {"lv": 1.5, "mv": 3.3},
            "avoided_losses_year": 2023,
            # DOMAIN.md: avoided losses = E x cPR x Pz_h (they follow the hourly price).
            "avoided_losses_cpr": {"lv": 0.026, "mv": 0.012},
        },
        "source": "DM MASE 414/2023; ARERA TIAD 727/2022 (avoided losses 2023)",
    },
    {
        "regime": "fr_acc", "version": "2023", "valid_from": "2023-01-01", "valid_to": None,
        "params": {
            "interval_minutes": 15,
            "allocation_keys": ["static", "default_dynamic", "simple_dynamic", "full_dynamic"],
            "default_allocation_key": "default_dynamic",
            "allocation_capped_at_consumption": True,
            # Distance between the two furthest participants (geodesic): arrete of 21 Nov
            # 2019 as amended by the arrete of 19 Sep 2023 (derogations on the municipality
            # class every participant is in, INSEE's grid of density).
            "perimeter_km": {"default": 2, "peri_urban_or_rural": 10, "rural": 20},
            # Installed production power: arrete of 21 Feb 2025 (3 MW before it).
            "max_power_mw": 5, "max_power_mw_public_body_epci": 10, "max_power_mw_previous": 3,
        },
        "source": "Code de l'energie L315-2 and R315-1 ff.; arrete 21 Nov 2019 amended 19 Sep 2023 "
                  "(perimeter); arrete 21 Feb 2025 (power)",
    },
    {
        "regime": "at_eeg", "version": "2024", "valid_from": "2024-01-01", "valid_to": None,
        "params": {
            "interval_minutes": 15,
            "allocation_keys": ["static", "dynamic"],
            "allocation_capped_at_consumption": True,
            "multi_participation": True,
            # Share of the energy-related grid-usage charge waived on community energy, by
            # the community's scope and the member's network level (SNE-V).
            "grid_fee_reduction": {"local": {"6": 0.57, "7": 0.57}, "regional": {"5": 0.64, "7": 0.28}},
            # Energy-related grid-usage charge (EUR/kWh) by network level: it differs per
            # grid area (SNE-V annex); these are illustrative, the operator sets the
            # area's figures in a newer parameter version.
            "grid_usage_energy_charge_eur_per_kwh": {"5": "0.0150", "6": "0.0250", "7": "0.0550"},
        },
        "source": "EAG 2021 and ElWOG 2010 s16c-16e; SNE-V (grid-fee reductions local 57 %, regional 28 % at "
                  "level 7 and 64 % at level 5; grid-usage charges illustrative)",
    },
    {
        "regime": "p2p", "version": "1", "valid_from": "2020-01-01", "valid_to": None,
        "params": {
            "interval_minutes": 15,
            "ledger": "double_entry",
            "wallet_may_go_negative": False,
            "settlement_idempotent": True,
        },
        "source": "CommonWatt marketplace rules (shared/DOMAIN.md, Peer-to-peer)",
    },
]



def regime_parameters_ensure(model=None) -> int:
    """Upsert every set (keyed on regime + version); returns how many there are."""
    if model is None:
        from communities.models import RegimeParameters

        model = RegimeParameters
    for row in SETS:
        model.objects.update_or_create(
            regime=row["regime"], version=row["version"],
            defaults={k: v for k, v in row.items() if k not in ("regime", "version")},
        )
    return len(SETS)
