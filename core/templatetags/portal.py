"""Portal template helpers: numbers in the active language's format (1.234,5 in Italian)."""

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def num(value, decimals=1):
    """`{{ x|num:1 }}`: grouped and localized (it: 1.234,5; en: 1,234.5); '–' for none."""
    if value is None or value == "":
        return "–"
    try:
        return number_format(round(float(value), int(decimals)), int(decimals), force_grouping=True)
    except (TypeError, ValueError):
        return "–"


@register.filter
def money(value):
    """Euros with two decimals, localized (Decimal in, no float arithmetic)."""
    if value is None:
        return "–"
    return number_format(value, 2, force_grouping=True)


@register.simple_tag
def managed_communities_of(user):
    """The communities `user` manages (referent, vendor, admin), for the back office index."""
    from core.home import managed_communities

    if not getattr(user, "is_authenticated", False):
        return []
    return list(managed_communities(user))
