"""The band schemes seeded as data (migration 0002); an operator corrects them in the admin.

ARERA time-of-use bands (delibera 181/06, in force since 2007), local time:
F1 Mon-Fri 08-19; F2 Mon-Fri 07-08 and 19-23, Saturday 07-23; F3 Mon-Sat 23-07, Sundays
and national holidays all day. The rules below say exactly that; anything they miss
falls in the default band F3.
"""

from __future__ import annotations

MON_FRI = [0, 1, 2, 3, 4]
MON_SAT = [0, 1, 2, 3, 4, 5]

SCHEMES = [
    {
        "code": "it-arera-f123",
        "version": "2007",
        "name": "ARERA F1/F2/F3",
        "holiday_country": "IT",
        "default_band": "F3",
        "source": "ARERA delibera 181/06 (fasce orarie F1, F2, F3)",
        # (band, weekdays, hour_from, hour_to, holidays)
        "rules": [
            ("F3", [], 0, 24, "only"),
            ("F1", MON_FRI, 8, 19, "exclude"),
            ("F2", MON_FRI, 7, 8, "exclude"),
            ("F2", MON_FRI, 19, 23, "exclude"),
            ("F2", [5], 7, 23, "exclude"),
            ("F3", MON_SAT, 0, 7, "exclude"),
            ("F3", MON_SAT, 23, 24, "exclude"),
            ("F3", [6], 0, 24, "exclude"),
        ],
    },
]


def band_schemes_ensure(scheme_model=None, rule_model=None) -> None:
    """Create the schemes above when missing; never overwrite an operator's corrections.

    The migration passes its historical models; the demo and tests call it bare (a flushed
    test database, or an operator who deleted a scheme, gets it back).
    """
    if scheme_model is None:
        from pricing.models import BandRule, BandScheme

        scheme_model, rule_model = BandScheme, BandRule
    for spec in SCHEMES:
        scheme, created = scheme_model.objects.get_or_create(
            code=spec["code"], version=spec["version"],
            defaults={k: spec[k] for k in ("name", "holiday_country", "default_band", "source")},
        )
        if created:
            rule_model.objects.bulk_create(
                rule_model(scheme=scheme, position=i, band=band, weekdays=days, hour_from=lo, hour_to=hi,
                         holidays=hol)
                for i, (band, days, lo, hi, hol) in enumerate(spec["rules"])
            )

