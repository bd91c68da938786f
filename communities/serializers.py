"""Serializers of the communities API: validate input, shape output. No ORM writes here."""

import zoneinfo
from decimal import Decimal

from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organization, Role
from communities.geo import GeoJSONField, LonLatField
from communities.models import (
    Community,
    Configuration,
    EnergyTransaction,
    Membership,
    MeteringPoint,
    ParticipationFactor,
    RegimeParameters,
)
from communities.quarter_hours import local_iso
from core.drf import ScopedFieldsMixin, ScopedModelSerializer
from core.drf import ScopedPrimaryKeyRelatedField as ScopedPK


class CommunityPublicSerializer(ScopedModelSerializer):
    """What any member may know of their community: public facts and aggregates only."""

    boundary = GeoJSONField("MultiPolygon", read_only=True, allow_null=True)
    member_count = serializers.IntegerField(read_only=True)
    installed_kwp = serializers.DecimalField(max_digits=14, decimal_places=3, read_only=True)

    class Meta:
        model = Community
        fields = ["id", "name", "slug", "regime", "status", "market_zone", "boundary",
                  "member_count", "installed_kwp"]


class CommunitySerializer(CommunityPublicSerializer):
    """The full view, for those who manage the community (admin, its vendor, its referents).
    Everyone else receives the public subset (CommunityPublicSerializer)."""

    referents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    managed = serializers.SerializerMethodField()

    class Meta:
        model = Community
        fields = [*CommunityPublicSerializer.Meta.fields, "organization", "primary_substation",
                  "time_zone", "currency", "referents", "managed", "created_at", "updated_at",
                  "public_body_single_epci", "eeg_scope"]

    def get_managed(self, obj) -> bool:
        return True

    def to_representation(self, instance):
        managed = self.context.get("managed_ids", set())
        if instance.pk not in managed:
            return CommunityPublicSerializer(instance, context=self.context).data
        return super().to_representation(instance)


class CommunitySchema(OpenApiSerializerExtension):
    """In the schema, only the public facts are always present: a member gets no more."""

    target_class = CommunitySerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        public = set(CommunityPublicSerializer.Meta.fields)
        schema["required"] = [name for name in schema.get("required", []) if name in public]
        return schema


class CommunityWriteSerializer(ScopedModelSerializer):
    boundary = GeoJSONField("MultiPolygon", required=False, allow_null=True,
                            help_text="GeoJSON MultiPolygon (a Polygon is accepted and promoted).")
    slug = serializers.SlugField(required=False, max_length=50)
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(),
        required=False, help_text="Admins choose; vendors always create in their own organization.",
    )
    referents = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=get_user_model().objects.none()
    )

    class Meta:
        model = Community
        fields = ["name", "slug", "organization", "regime", "boundary", "primary_substation",
                  "market_zone", "time_zone", "currency", "status", "referents", "public_body_single_epci",
                  "eeg_scope"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["referents"].child_relation.queryset = (
                get_user_model().objects.visible_to(request.user).filter(role=Role.REFERENT)
            )

    def validate_referents(self, value):
        # A referent manages the community only as one of its referents: dropping themselves
        # would lock them out of what they just changed (and left the answer with nothing to show).
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if (self.instance is not None and user is not None and user.role == Role.REFERENT
                and user not in value):
            raise serializers.ValidationError(
                "You cannot remove yourself from the referents: ask the vendor or an administrator.")
        return value

    def validate_time_zone(self, value):
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise serializers.ValidationError(f"Unknown time zone {value!r}.") from None
        return value


class OutsidePointSerializer(ScopedFieldsMixin, serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    membership = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())


class OutsidePlantSerializer(ScopedFieldsMixin, serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class OutsideReportSerializer(ScopedFieldsMixin, serializers.Serializer):
    metering_points = OutsidePointSerializer(many=True)
    plants = OutsidePlantSerializer(many=True)


class CommunityUpdateResponseSerializer(CommunitySerializer):
    """The community after the change, plus what no longer fits its boundary/substation."""

    outside = OutsideReportSerializer(read_only=True)

    class Meta(CommunitySerializer.Meta):
        fields = [*CommunitySerializer.Meta.fields, "outside"]


class BoundaryFeatureSerializer(ScopedFieldsMixin, serializers.Serializer):
    type = serializers.CharField(default="Feature")
    id = serializers.IntegerField()
    geometry = GeoJSONField("MultiPolygon", allow_null=True)
    properties = serializers.DictField()


class MeteringPointInputSerializer(ScopedFieldsMixin, serializers.Serializer):
    code = serializers.CharField(max_length=40)
    location = LonLatField(required=False, allow_null=True,
                           help_text='GeoJSON Point, or {"lon": .., "lat": ..}.')
    primary_substation = serializers.CharField(max_length=64, required=False, allow_blank=True)
    market_zone = serializers.ChoiceField(choices=MeteringPoint._meta.get_field("market_zone").choices,
                                          required=False, allow_blank=True)
    direction = serializers.ChoiceField(choices=MeteringPoint._meta.get_field("direction").choices,
                                        required=False)
    meter_serial = serializers.CharField(max_length=64, required=False, allow_blank=True)
    is_smart_meter = serializers.BooleanField(required=False)
    municipality_class = serializers.ChoiceField(
        choices=MeteringPoint._meta.get_field("municipality_class").choices, required=False, allow_blank=True,
        help_text="France: the municipality's class for the ACC perimeter derogations.")


class MeteringPointSerializer(ScopedModelSerializer):
    location = LonLatField(read_only=True)
    community = serializers.IntegerField(source="membership.community_id", read_only=True)

    class Meta:
        model = MeteringPoint
        fields = ["id", "code", "membership", "community", "location", "primary_substation",
                  "market_zone", "direction", "meter_serial", "is_smart_meter", "municipality_class",
                  "created_at"]


class MeteringPointCreateSerializer(MeteringPointInputSerializer):
    membership = ScopedPK(Membership)


class MembershipSerializer(ScopedModelSerializer):
    user_email = serializers.EmailField(source="user.email", read_only=True)
    user_full_name = serializers.CharField(source="user.full_name", read_only=True)
    metering_points = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")

    class Meta:
        model = Membership
        fields = ["id", "community", "user", "user_email", "user_full_name", "member_type", "role",
                  "participation_factor_pct", "network_level", "joined_at", "left_at", "status",
                  "metering_points"]


class InvitedSerializer(serializers.Serializer):
    status = serializers.CharField(default="invited")


class MembershipCreateSerializer(ScopedFieldsMixin, serializers.Serializer):
    """Invite a member: a user by id (within your scope) or anyone by email. The person
    receives an invitation (email link and portal page) and becomes a member when they
    accept; until then nothing of them is visible. The answer is always 202
    {"status": "invited"} (an unknown email gets a new, invited account)."""

    user = ScopedPK(get_user_model(), required=False)
    email = serializers.EmailField(required=False)
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    member_type = serializers.ChoiceField(choices=Membership._meta.get_field("member_type").choices,
                                          default="consumer")
    role = serializers.ChoiceField(choices=Membership._meta.get_field("role").choices, default="member")
    joined_at = serializers.DateField(required=False)
    participation_factor_pct = serializers.DecimalField(max_digits=5, decimal_places=2, required=False,
                                                        min_value=Decimal("0.01"), max_value=Decimal("100"))
    metering_point = MeteringPointInputSerializer(required=False)

    def validate(self, attrs):
        if not attrs.get("user") and not attrs.get("email"):
            raise serializers.ValidationError({"user": ["Give a user id or an email."]})
        return attrs


class MembershipCreateWithCommunitySerializer(MembershipCreateSerializer):
    community = ScopedPK(Community)


class ParticipationFactorSerializer(ScopedModelSerializer):
    """A version; its bounds as local date-times with their offset in the community's zone
    (`2025-03-10T10:15:00+01:00`)."""

    valid_from = serializers.SerializerMethodField()
    valid_to = serializers.SerializerMethodField()

    class Meta:
        model = ParticipationFactor
        fields = ["id", "membership", "factor_pct", "valid_from", "valid_to", "created_at"]

    @extend_schema_field(serializers.DateTimeField())
    def get_valid_from(self, obj) -> str:
        return local_iso(obj.valid_from, obj.membership.community.time_zone)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_valid_to(self, obj) -> str | None:
        return local_iso(obj.valid_to, obj.membership.community.time_zone)


class ParticipationFactorChangeSerializer(ScopedFieldsMixin, serializers.Serializer):
    """A new participation factor from `valid_from` on: a day (from its first quarter hour in
    the community's zone) or a date-time on the quarter hour, local or with its offset
    (`communities.quarter_hours`, which refuses what is off the grid or ambiguous)."""

    participation_factor_pct = serializers.DecimalField(max_digits=5, decimal_places=2,
                                                        min_value=Decimal("0.01"), max_value=Decimal("100"))
    valid_from = serializers.CharField(
        max_length=40,
        help_text="YYYY-MM-DD (that day's local midnight), or YYYY-MM-DDTHH:MM on :00/:15/:30/:45, local "
                  "(community's time zone) or with its UTC offset.")


class MembershipLeaveSerializer(ScopedFieldsMixin, serializers.Serializer):
    left_at = serializers.DateField(required=False)


class RegimeParametersSerializer(ScopedModelSerializer):
    class Meta:
        model = RegimeParameters
        fields = ["id", "regime", "version", "valid_from", "valid_to", "params", "source"]


class ConfigurationSerializer(ScopedModelSerializer):
    regime_parameters_detail = RegimeParametersSerializer(source="regime_parameters", read_only=True)

    class Meta:
        model = Configuration
        fields = ["id", "community", "name", "regime_parameters", "regime_parameters_detail",
                  "allocation_key", "static_shares", "producers_pct", "consumers_pct", "fund_pct",
                  "valid_from", "valid_to", "status", "created_at"]


class ConfigurationCreateSerializer(ScopedFieldsMixin, serializers.Serializer):
    community = ScopedPK(Community)
    name = serializers.CharField(max_length=200)
    regime_parameters = serializers.PrimaryKeyRelatedField(
        queryset=RegimeParameters.objects.all(), required=False, allow_null=True,
        help_text="Default: the set of the community's regime valid on valid_from.",
    )
    allocation_key = serializers.ChoiceField(choices=Configuration._meta.get_field("allocation_key").choices,
                                             required=False)
    static_shares = serializers.DictField(child=serializers.DecimalField(max_digits=7, decimal_places=6),
                                          required=False)
    producers_pct = serializers.DecimalField(max_digits=5, decimal_places=2, required=False,
                                             min_value=0, max_value=100)
    consumers_pct = serializers.DecimalField(max_digits=5, decimal_places=2, required=False,
                                             min_value=0, max_value=100)
    fund_pct = serializers.DecimalField(max_digits=5, decimal_places=2, required=False,
                                        min_value=0, max_value=100)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=Configuration._meta.get_field("status").choices, required=False)


class TransactionSerializer(ScopedModelSerializer):
    amount_eur = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)

    class Meta:
        model = EnergyTransaction
        fields = ["id", "community", "from_membership", "to_membership", "energy_kwh",
                  "unit_price_eur_per_kwh", "amount_eur", "interval_start", "interval_end", "status",
                  "created_at"]


class TransactionCreateSerializer(ScopedFieldsMixin, serializers.Serializer):
    from_membership = ScopedPK(Membership)
    to_membership = ScopedPK(Membership, required=False, allow_null=True,
                             help_text="Empty: the energy goes to the community.")
    energy_kwh = serializers.DecimalField(max_digits=14, decimal_places=4)
    unit_price_eur_per_kwh = serializers.DecimalField(max_digits=10, decimal_places=6, required=False)
    interval_start = serializers.DateTimeField()
    interval_end = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=[("pending", "Pending")], required=False,
        help_text="Always pending: a transaction cannot be created settled or cancelled.",
    )

    def validate(self, attrs):
        attrs.pop("status", None)
        return attrs
