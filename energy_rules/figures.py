"""Where the rules find their figures: `communities/regime_sets.py`, the one source (rules
change by decree; the RegimeParameters table is seeded from it and may hold newer sets)."""

from __future__ import annotations


def default_params(regime: str) -> dict:
    """The regime's newest figures from their one source: used only when the database has
    no valid row (or an older row lacks a figure)."""
    from communities.regime_sets import SETS

    rows = [row for row in SETS if row["regime"] == regime]
    return dict(max(rows, key=lambda row: row["valid_from"])["params"]) if rows else {}
