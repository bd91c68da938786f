"""CSV/XLSX import and export of plants (back office)."""

from import_export import fields

from communities.importing import (
    ScopedResource,
    cell,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_point,
)
from communities.models import MeteringPoint
from plants.models import Plant, PlantStatus, Technology
from plants.services import REGIME_ITEM_KEYS, plant_problems


class PlantResource(ScopedResource):
    """One row per plant, keyed by (community slug, name): owner_email, metering_point
    (POD code), lon, lat, capacity_kwp, tilt_deg, azimuth_deg, technology,
    inverter_power_kw, commissioned_on, status. Each row must fit its community."""

    community = fields.Field(column_name="community", dehydrate_method="dehydrate_community")
    owner_email = fields.Field(column_name="owner_email", dehydrate_method="dehydrate_owner_email")
    metering_point = fields.Field(column_name="metering_point", dehydrate_method="dehydrate_metering_point")
    lon = fields.Field(column_name="lon", dehydrate_method="dehydrate_lon")
    lat = fields.Field(column_name="lat", dehydrate_method="dehydrate_lat")

    class Meta:
        model = Plant
        fields = ("name", "community", "owner_email", "metering_point", "lon", "lat", "capacity_kwp",
                  "tilt_deg", "azimuth_deg", "technology", "inverter_power_kw", "commissioned_on", "status")
        export_order = fields
        import_id_fields = ("community", "name")
        clean_model_instances = True

    def dehydrate_community(self, obj):
        return obj.community.slug if obj.community else ""

    def dehydrate_owner_email(self, obj):
        return obj.owner.email

    def dehydrate_metering_point(self, obj):
        return obj.metering_point.code if obj.metering_point else ""

    def dehydrate_lon(self, obj):
        return obj.location.x

    def dehydrate_lat(self, obj):
        return obj.location.y

    def get_instance(self, instance_loader, row):
        return Plant.objects.filter(
            community__in=self._managed(), community__slug=cell(row, "community"), name=cell(row, "name")
        ).first()

    def _managed(self):
        from communities.models import Community

        return Community.objects.managed_by(self.user)

    def import_instance(self, instance, row, **kwargs):
        from accounts.models import User

        errors = {}
        community = self.community(row, errors)
        name = cell(row, "name")
        if not name:
            errors["name"] = "Required."
        # The owner is a current member of the row's community: any other email reads as
        # unknown (an import never reaches, nor reveals, accounts outside the importer's scope).
        owner = User.objects.filter(
            email__iexact=cell(row, "owner_email"), memberships__community=community,
            memberships__left_at__isnull=True,
        ).first() if community is not None else None
        if owner is None:
            errors["owner_email"] = f"No current member with email {cell(row, 'owner_email')!r}."
        metering_point = None
        if cell(row, "metering_point"):
            metering_point = MeteringPoint.objects.visible_to(self.user).filter(
                code=cell(row, "metering_point").upper()).first()
            if metering_point is None:
                errors["metering_point"] = f"No metering point {cell(row, 'metering_point')!r}."
        location = parse_point(row, errors, required=True)
        capacity = parse_decimal(row, "capacity_kwp", errors, required=True)
        if capacity is not None and capacity <= 0:
            errors["capacity_kwp"] = "Must be positive."
        values = {
            "tilt_deg": parse_decimal(row, "tilt_deg", errors),
            "azimuth_deg": parse_decimal(row, "azimuth_deg", errors),
            "inverter_power_kw": parse_decimal(row, "inverter_power_kw", errors),
            "commissioned_on": parse_date(row, "commissioned_on", errors),
            "technology": parse_choice(row, "technology", Technology.choices, errors, Technology.PV_MONO),
            "status": parse_choice(row, "status", PlantStatus.choices, errors, PlantStatus.OPERATING),
        }
        self.raise_if(errors)
        instance.name, instance.community, instance.owner = name, community, owner
        instance.metering_point, instance.location, instance.capacity_kwp = metering_point, location, capacity
        for field_name, value in values.items():
            if value is not None:
                setattr(instance, field_name, value)
        self.raise_if({k: v for k, v in plant_problems(instance).items() if k not in REGIME_ITEM_KEYS})
