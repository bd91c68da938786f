"""Query-string filters of the communities API (django-filter; documented in the schema)."""

import django_filters as filters
from django.db.models import Q

from communities.models import Community, Configuration, EnergyTransaction, Membership, MeteringPoint
from core.drf import ScopedFilterSet


class CommunityFilter(ScopedFilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Community
        fields = ["name", "regime", "status", "market_zone", "organization", "primary_substation"]


class MembershipFilter(ScopedFilterSet):
    current = filters.BooleanFilter(field_name="left_at", lookup_expr="isnull",
                                    help_text="true: members now; false: members who left.")
    joined_after = filters.DateFilter(field_name="joined_at", lookup_expr="gte")
    joined_before = filters.DateFilter(field_name="joined_at", lookup_expr="lt")

    class Meta:
        model = Membership
        fields = ["community", "status", "member_type", "role", "user", "current"]


class MeteringPointFilter(ScopedFilterSet):
    community = filters.NumberFilter(field_name="membership__community")
    code = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = MeteringPoint
        fields = ["community", "membership", "direction", "primary_substation", "market_zone",
                  "is_smart_meter", "code"]


class ConfigurationFilter(ScopedFilterSet):
    active_on = filters.DateFilter(method="filter_active_on",
                                   help_text="Configurations whose [valid_from, valid_to) covers this day.")

    class Meta:
        model = Configuration
        fields = ["community", "status", "allocation_key", "active_on"]

    def filter_active_on(self, qs, name, value):
        return qs.filter(valid_from__lte=value).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=value))


class TransactionFilter(ScopedFilterSet):
    start = filters.IsoDateTimeFilter(field_name="interval_start", lookup_expr="gte",
                                      help_text="Intervals starting at or after this instant.")
    end = filters.IsoDateTimeFilter(field_name="interval_end", lookup_expr="lte",
                                    help_text="Intervals ending at or before this instant.")

    class Meta:
        model = EnergyTransaction
        fields = ["community", "status", "from_membership", "to_membership", "start", "end"]
