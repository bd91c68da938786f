"""`ScopedAdmin`: the back-office base every app's ModelAdmin subclasses.

The admin is open to admins, vendors and referents (`User.is_staff`), but a vendor or a
referent must only ever see their own scope. So the change list and every object lookup
start from `Model.objects.visible_to(request.user)` (the one scoping rule, STYLE.md habit 5),
foreign-key choices are scoped the same way, and permissions come from the role rather than
Django's per-model permission rows:

- admins (role admin or superuser): everything;
- vendors and referents: view within their scope, change what they manage
  (`managed_by`, when the model defines it); add only when the subclass lists their role in
  `add_roles`; delete only roles in `delete_roles` (default: admins only).

For non-admins, list filters on relations offer only the values present in their scope
(`RelatedOnlyFieldListFilter`), so the sidebar does not list other tenants' names.
"""

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist

from accounts.models import Role
from core.scoping import ScopedQuerySet


def _is_admin(user) -> bool:
    return bool(user.is_active and (user.is_superuser or getattr(user, "role", None) == Role.ADMIN))


def _scoped(queryset, user):
    if hasattr(queryset, "visible_to"):
        return queryset.visible_to(user)
    return queryset


class ScopedAdmin(admin.ModelAdmin):
    #: roles (besides admins) that may open the module and view/change rows in their scope
    staff_roles: tuple[str, ...] = (Role.VENDOR, Role.REFERENT)
    #: roles (besides admins) that may add rows
    add_roles: tuple[str, ...] = ()
    #: roles (besides admins) that may delete rows
    delete_roles: tuple[str, ...] = ()

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not hasattr(qs, "visible_to"):
            raise TypeError(f"{self.model.__name__}'s manager has no visible_to(): "
                            "ScopedAdmin needs a ScopedQuerySet.")
        return qs.visible_to(request.user)

    def _has_role(self, request, roles) -> bool:
        user = request.user
        return _is_admin(user) or (user.is_active and getattr(user, "role", None) in roles)

    def _in_scope(self, request, obj) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def _manages(self, request, obj) -> bool:
        """Change and delete follow `managed_by(user)` (visible but not manageable opens
        read-only), for models whose queryset defines `_manage_scope`; the others keep
        the visible scope until they do."""
        if obj is None or _is_admin(request.user):
            return True
        manager = self.model._default_manager
        if type(manager.all())._manage_scope is ScopedQuerySet._manage_scope:
            return self._in_scope(request, obj)
        return manager.all().managed_by(request.user).filter(pk=obj.pk).exists()

    def has_module_permission(self, request):
        return self._has_role(request, self.staff_roles)

    def has_view_permission(self, request, obj=None):
        return self._has_role(request, self.staff_roles) and self._in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._has_role(request, self.staff_roles) and self._manages(request, obj)

    def has_add_permission(self, request):
        return self._has_role(request, self.add_roles)

    def has_delete_permission(self, request, obj=None):
        return self._has_role(request, self.delete_roles) and self._manages(request, obj)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if _is_admin(request.user):
            return filters
        return [self._scoped_filter(f) for f in filters]

    def _scoped_filter(self, list_filter):
        if not isinstance(list_filter, str):
            return list_filter
        try:
            field = get_fields_from_path(self.model, list_filter)[-1]
        except FieldDoesNotExist:
            return list_filter
        if field.is_relation:
            return (list_filter, admin.RelatedOnlyFieldListFilter)
        return list_filter

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and not _is_admin(request.user):
            kwargs["queryset"] = _scoped(db_field.related_model._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and not _is_admin(request.user):
            kwargs["queryset"] = _scoped(db_field.related_model._default_manager.all(), request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)
