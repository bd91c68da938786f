"""Numbers, dates and labels of the printed statements, in the active language
(`1.234,56` in Italian, `1,234.56` in English), and formula-safe spreadsheet cells."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _

from communities.importing import escape_formula


def money(value) -> str:
    if value is None:
        return "-"
    return formats.number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)


def kwh(value) -> str:
    if value is None:
        return "-"
    return formats.number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)


def month(value) -> str:
    d = value if isinstance(value, date) else date.fromisoformat(value)
    return formats.date_format(d, "YEAR_MONTH_FORMAT", use_l10n=True)


def line_label(kind: str) -> str:
    from settlement.models import LineKind

    try:
        return str(LineKind(kind).label)
    except ValueError:
        return kind


def energy_labels() -> list[tuple[str, str]]:
    return [
        ("withdrawn_kwh", _("Withdrawn")),
        ("injected_kwh", _("Injected")),
        ("shared_kwh", _("Shared")),
        ("allocated_kwh", _("Allocated to you")),
    ]


def safe(value):
    """A cell a spreadsheet will not run as a formula (see `communities.importing`)."""
    return escape_formula(value)
