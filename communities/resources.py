"""CSV/XLSX import and export of members and metering points (back office)."""

from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from import_export import fields
from import_export.results import RowResult

from communities.eligibility import metering_point_problems, substation_at
from communities.importing import (
    ScopedResource,
    cell,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_point,
)
from communities.models import (
    Direction,
    MarketZone,
    Membership,
    MembershipRole,
    MembershipStatus,
    MeteringPoint,
)
from communities.quarter_hours import quarter_hour_start
from communities.services import factor_change_window
from core.exceptions import DomainError


def _member_types():
    return Membership._meta.get_field("member_type").choices


class MembershipResource(ScopedResource):
    """One row per membership: community (slug), email, full_name, member_type, role,
    participation_factor_pct, joined_at, left_at; optional `factor_valid_from` (Austria:
    when a current member's changed factor applies from, a day or a quarter-hour date-time in
    the community's zone, `communities.quarter_hours`; default today).

    A row for a current member updates that membership. Any other row is an invitation
    (issue 8): the person (with or without an account) is emailed a link and joins when they
    accept; nothing of them is written to, or shown in, the community before that."""

    community = fields.Field(column_name="community", dehydrate_method="dehydrate_community")
    email = fields.Field(column_name="email", dehydrate_method="dehydrate_email")
    full_name = fields.Field(column_name="full_name", dehydrate_method="dehydrate_full_name")

    class Meta:
        model = Membership
        fields = ("id", "community", "email", "full_name", "member_type", "role",
                  "participation_factor_pct", "joined_at", "left_at", "status")
        export_order = fields
        import_id_fields = ("community", "email")
        clean_model_instances = True

    def dehydrate_community(self, obj):
        return obj.community.slug

    def dehydrate_email(self, obj):
        return obj.user.email if obj.user_id else getattr(obj, "invitation", {}).get("email", "")

    def dehydrate_full_name(self, obj):
        return obj.user.full_name if obj.user_id else ""

    def get_instance(self, instance_loader, row):
        slug, email = cell(row, "community"), cell(row, "email").lower()
        return Membership.objects.filter(
            community__in=self._managed(), community__slug=slug, user__email__iexact=email,
            left_at__isnull=True,
        ).first()

    def _managed(self):
        from communities.models import Community

        return Community.objects.managed_by(self.user)

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        community = self.community(row, errors)
        email = cell(row, "email").lower()
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = f"Not an email address: {email!r}."
        member_type = parse_choice(row, "member_type", _member_types(), errors, "consumer")
        role = parse_choice(row, "role", MembershipRole.choices, errors, "member")
        factor = parse_decimal(row, "participation_factor_pct", errors)
        joined_at = parse_date(row, "joined_at", errors, required=instance.pk is None)
        left_at = parse_date(row, "left_at", errors)
        if factor is not None and factor != 100 and community is not None and community.regime != "at_eeg":
            errors["participation_factor_pct"] = "Only communities of regime at_eeg split a meter."
        if cell(row, "factor_valid_from") and community is not None:
            try:  # off the grid, ambiguous at a DST change, not a date: this row's error
                quarter_hour_start(cell(row, "factor_valid_from"), time_zone=community.time_zone)
            except DomainError as exc:
                errors["factor_valid_from"] = exc.message
        self.raise_if(errors)
        if instance.pk is None:
            instance.community = community
            instance.invitation = {
                "email": email, "full_name": cell(row, "full_name"), "member_type": member_type,
                "role": role, "joined_at": joined_at,
                "participation_factor_pct": factor if factor is not None else Decimal("100"),
            }
            return
        instance.member_type, instance.role = member_type, role
        if factor is not None and factor != instance.participation_factor_pct:
            # a new version from `factor_valid_from` (default today), written by the service
            # after the row (`save_instance`); checked here so a bad value is this row's error
            valid_from = cell(row, "factor_valid_from") or timezone.localdate(
                timezone=ZoneInfo(instance.community.time_zone))
            try:
                start, _end = factor_change_window(membership=instance, valid_from=valid_from)
            except DomainError as exc:
                errors["factor_valid_from"] = " ".join(
                    str(m) for messages in exc.details.values() for m in messages) or exc.message
                self.raise_if(errors)
            instance.factor_change = (factor, start)
        if joined_at is not None:
            instance.joined_at = joined_at
        if left_at is not None:
            instance.left_at, instance.status = left_at, MembershipStatus.LEFT

    def validate_instance(self, instance, *args, **kwargs):
        if getattr(instance, "invitation", None) is None:
            super().validate_instance(instance, *args, **kwargs)

    def after_import_row(self, row, row_result, **kwargs):
        # An invitation row wrote no membership: report it as skipped (no admin log entry
        # of an "added" membership that does not exist).
        if getattr(row_result.instance, "invitation", None) is not None:
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP

    def save_instance(self, instance, is_create, row, **kwargs):
        invitation = getattr(instance, "invitation", None)
        if invitation is None:
            saved = super().save_instance(instance, is_create, row, **kwargs)
            change = getattr(instance, "factor_change", None)
            preview_only = self._is_dry_run(kwargs) and not self._is_using_transactions(kwargs)
            if change is not None and not preview_only:
                from communities.services import membership_factor_change

                factor, valid_from = change
                try:
                    membership_factor_change(actor=self.user, membership=instance,
                                             participation_factor_pct=factor, valid_from=valid_from)
                except DomainError as exc:
                    raise ValidationError(exc.details or exc.message) from None
            return saved
        if self._is_dry_run(kwargs) and not self._is_using_transactions(kwargs):
            return None  # a preview without a transaction to roll back writes nothing
        from communities.services import member_invite

        try:
            member_invite(actor=self.user, community=instance.community, **invitation)
        except DomainError as exc:
            raise ValidationError(exc.details or exc.message) from None
        return None


class MeteringPointResource(ScopedResource):
    """One row per POD: code, community (slug), email (of a current member), lon, lat,
    primary_substation, market_zone, direction, meter_serial, is_smart_meter.
    Each row must be eligible for its community (boundary, substation, market zone)."""

    community = fields.Field(column_name="community", dehydrate_method="dehydrate_community")
    email = fields.Field(column_name="email", dehydrate_method="dehydrate_email")
    lon = fields.Field(column_name="lon", dehydrate_method="dehydrate_lon")
    lat = fields.Field(column_name="lat", dehydrate_method="dehydrate_lat")

    class Meta:
        model = MeteringPoint
        fields = ("code", "community", "email", "lon", "lat", "primary_substation", "market_zone",
                  "direction", "meter_serial", "is_smart_meter")
        export_order = fields
        import_id_fields = ("code",)
        clean_model_instances = True

    def dehydrate_community(self, obj):
        return obj.membership.community.slug

    def dehydrate_email(self, obj):
        return obj.membership.user.email

    def dehydrate_lon(self, obj):
        return obj.location.x if obj.location else ""

    def dehydrate_lat(self, obj):
        return obj.location.y if obj.location else ""

    def get_instance(self, instance_loader, row):
        return MeteringPoint.objects.filter(code=cell(row, "code").upper()).first()

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        community = self.community(row, errors)
        if instance.pk and not MeteringPoint.objects.visible_to(self.user).filter(pk=instance.pk).exists():
            errors["code"] = "This metering point is already registered."
        membership = None
        if community is not None:
            membership = Membership.objects.filter(
                community=community, user__email__iexact=cell(row, "email"), left_at__isnull=True
            ).first()
            if membership is None:
                errors["email"] = f"No current member with email {cell(row, 'email')!r} in {community.slug}."
        location = parse_point(row, errors)
        zone = cell(row, "market_zone")
        if zone and zone not in MarketZone.values:
            errors["market_zone"] = f"Unknown market zone {zone!r}."
        direction = parse_choice(row, "direction", Direction.choices, errors, Direction.WITHDRAWAL)
        substation = cell(row, "primary_substation").upper() or substation_at(location)
        if community is not None and not errors:
            for name, messages in metering_point_problems(
                community, location=location, primary_substation=substation, market_zone=zone or None,
                municipality_class=cell(row, "municipality_class"),
            ).items():
                if name != "perimeter":  # the machine-readable item; its message is on location
                    errors[name] = messages
        self.raise_if(errors)
        instance.code = cell(row, "code").upper()
        instance.membership = membership
        instance.location = location
        instance.primary_substation = substation or community.primary_substation
        instance.market_zone = zone or community.market_zone
        instance.direction = direction
        instance.meter_serial = cell(row, "meter_serial")
        instance.is_smart_meter = parse_bool(row, "is_smart_meter")
        instance.municipality_class = cell(row, "municipality_class")  # optional column (France)
