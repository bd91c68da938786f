"""Back-office bases for models that hang off a community.

`core.admin.ScopedAdmin` scopes what a vendor or referent *sees* (`visible_to`). Seeing is
wider than changing here: a referent who is also a plain member of another community sees
their own membership there, but may only change what belongs to communities they manage
(`Community.objects.managed_by`). Foreign-key choices are narrowed the same way, so a
form cannot attach anything to a community out of the user's hands.
"""

from django.contrib import admin
from django.contrib.gis.db import models as gis_models
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX

from accounts.models import Role
from communities.models import Community, Membership, MeteringPoint
from communities.widgets import GeoJSONTextarea
from core.admin import ScopedAdmin

GEO_WIDGETS = {gis_models.GeometryField: {"widget": GeoJSONTextarea}}


def managed_ids(request) -> set[int]:
    if not hasattr(request, "_managed_community_ids"):
        request._managed_community_ids = set(
            Community.objects.managed_by(request.user).values_list("pk", flat=True)
        )
    return request._managed_community_ids


def manages(request, obj) -> bool:
    """The one rule, for the back office: `obj` is among `managed_by(user)` of its own model
    (answers cached per request)."""
    if request.user.is_platform_admin:
        return True
    cache = request.__dict__.setdefault("_manages_cache", {})
    key = (type(obj), obj.pk)
    if key not in cache:
        cache[key] = obj.pk is not None and type(obj)._default_manager.managed_by(request.user).filter(
            pk=obj.pk).exists()
    return cache[key]


def scoped_choice(db_field, request):
    """Queryset of a foreign-key's choices for a non-admin: only what the user manages."""
    model = db_field.related_model
    if model is Membership:
        return Membership.objects.managed_by(request.user).filter(left_at__isnull=True).select_related("user")
    if model in (Community, MeteringPoint) or model._meta.label == "plants.Plant":
        return model.objects.managed_by(request.user)
    return None


class CommunityScopedAdmin(ScopedAdmin):
    #: path from the model to its community ("self" for Community)
    community_path = "community"
    add_roles = ("vendor", "referent")
    formfield_overrides = GEO_WIDGETS

    def _manages(self, request, obj) -> bool:
        return obj is None or manages(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._manages(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._manages(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and not request.user.is_platform_admin:
            qs = scoped_choice(db_field, request)
            if qs is not None:
                kwargs["queryset"] = qs
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedInline(admin.TabularInline):
    """An inline whose rows and choices follow the same scoping as its parent admin."""

    extra = 0
    formfield_overrides = GEO_WIDGETS

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def _may_write(self, request, obj) -> bool:
        user = request.user
        if user.is_platform_admin:
            return True
        if user.role not in (Role.VENDOR, Role.REFERENT):
            return False
        return obj is None or manages(request, obj)

    parent_community_path = "self"

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff

    def has_add_permission(self, request, obj=None):
        return self._may_write(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_write(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and not request.user.is_platform_admin:
            qs = scoped_choice(db_field, request)
            if qs is None and hasattr(db_field.related_model.objects, "visible_to"):
                qs = db_field.related_model.objects.visible_to(request.user)
            if qs is not None:
                kwargs["queryset"] = qs
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedImportExportMixin(ImportExportMixin):
    """CSV/XLSX import and export; imports are scoped to the importer and all-or-nothing."""

    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]

    def get_import_resource_kwargs(self, request, **kwargs):
        return {"user": request.user}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {"user": request.user}

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def has_import_permission(self, request):
        return self.has_add_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)


class ReferenceDataAdmin(admin.ModelAdmin):
    """Platform-wide reference data: staff may look, only administrators change it."""

    formfield_overrides = GEO_WIDGETS

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return request.user.is_platform_admin

    def has_change_permission(self, request, obj=None):
        return request.user.is_platform_admin

    def has_delete_permission(self, request, obj=None):
        return request.user.is_platform_admin
