"""Shared parts of the CSV/XLSX importers (django-import-export): cell parsing and the
scoping every row goes through (a row may only touch communities the importer manages).

Imports are all-or-nothing: the admin runs them with `rollback_on_validation_errors`, so
one bad row is reported with its line and field and nothing else is written.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from import_export import resources

from communities.models import Community

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# exports prefix such text with an apostrophe, imports drop that apostrophe again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")  # a plain (negative) number is not a formula


def escape_formula(value):
    """`value` safe to open in a spreadsheet: text starting like a formula gets a leading
    apostrophe (numbers, dates and empty cells are left alone)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def cell(row, name) -> str:
    value = row.get(name)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]  # our own export's escape (see escape_formula)
    return text


def parse_date(row, name, errors, *, required=False) -> date | None:
    value = row.get(name)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell(row, name)
    if not text:
        if required:
            errors[name] = "Required (YYYY-MM-DD)."
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        errors[name] = f"Not a date (YYYY-MM-DD): {text!r}."
        return None


def parse_decimal(row, name, errors, *, required=False) -> Decimal | None:
    text = cell(row, name).replace(",", ".") if not isinstance(row.get(name), float) else str(row.get(name))
    if not text:
        if required:
            errors[name] = "Required."
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        errors[name] = f"Not a number: {text!r}."
        return None


def parse_bool(row, name, default=True) -> bool:
    text = cell(row, name).lower()
    if not text:
        return default
    return text in ("1", "true", "yes", "y", "si", "sì", "x")


def parse_point(row, errors, *, required=False) -> Point | None:
    lon = parse_decimal(row, "lon", errors, required=required)
    lat = parse_decimal(row, "lat", errors, required=required)
    if lon is None or lat is None:
        if (lon is None) != (lat is None):
            errors["lon"] = "Give both lon and lat, or neither."
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        errors["lon"] = "lon must be in [-180, 180] and lat in [-90, 90]."
        return None
    return Point(float(lon), float(lat), srid=4326)


def parse_choice(row, name, choices, errors, default):
    text = cell(row, name) or default
    if text not in dict(choices):
        errors[name] = f"{text!r} is not one of {', '.join(dict(choices))}."
    return text


class ScopedResource(resources.ModelResource):
    """A resource that knows who imports: rows naming a community outside the importer's
    `managed_by` scope are refused as if the community did not exist."""

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user

    def export_resource(self, instance, selected_fields=None, **kwargs):
        """Every exported cell goes through `escape_formula` (no formula runs when staff open
        an export of names and emails that members typed)."""
        return [escape_formula(v) for v in super().export_resource(instance, selected_fields, **kwargs)]

    def before_import(self, dataset, **kwargs):
        self.user = kwargs.get("user") or self.user
        if self.user is None:
            raise ValueError("An import needs the importing user (rows are scoped by it).")
        self._communities = {}

    def community(self, row, errors) -> Community | None:
        slug = cell(row, "community")
        if not slug:
            errors["community"] = "Required (the community's slug)."
            return None
        if slug not in self._communities:
            self._communities[slug] = Community.objects.managed_by(self.user).filter(slug=slug).first()
        found = self._communities[slug]
        if found is None:
            errors["community"] = f"No community {slug!r} among those you manage."
        return found

    @staticmethod
    def raise_if(errors: dict) -> None:
        if errors:
            raise ValidationError({k: [v] if isinstance(v, str) else v for k, v in errors.items()})
