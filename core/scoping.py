"""The two scoping rules per model: `visible_to(user)` and `managed_by(user)`.

`Model.objects.visible_to(user)` answers "may this user see it"; every user-facing read
(API, admin, portal, websockets, exports) starts from it. `Model.objects.managed_by(user)`
answers "may this user change it". Both apply the same guards (anonymous and inactive users
get nothing, admins and superusers everything, a vendor without an organization never
matches rows that have no organization); each model's QuerySet subclasses ScopedQuerySet and
implements `_scope(user)` (see) and `_manage_scope(user)` (change) for the roles below admin.

`get_visible` and `get_manageable` are the one selector every interface uses to fetch one
object for an action: invisible is `NotFound` (404), visible but not manageable is
`Forbidden` (403), never the other way round.
"""

from __future__ import annotations

from django.db import models

from core.exceptions import Forbidden, NotFound


def _is_admin(user) -> bool:
    from accounts.models import Role

    return bool(user.is_superuser or getattr(user, "role", None) == Role.ADMIN)


def _guard(queryset, user):
    """None when the scope rule below admin applies; otherwise the answer itself."""
    from accounts.models import Role

    if user is None or not getattr(user, "is_authenticated", False):
        return queryset.none()
    if not user.is_active:
        return queryset.none()
    if _is_admin(user):
        return queryset.all()
    if getattr(user, "role", None) == Role.VENDOR and getattr(user, "organization_id", None) is None:
        return False  # the caller decides (see the two methods)
    return None


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, user):
        guarded = _guard(self, user)
        if guarded is False:
            # A vendor without an organization is a misconfiguration; never let
            # `organization_id=None` filters match every row that has no organization.
            return self._scope_vendor_without_organization(user)
        if guarded is not None:
            return guarded
        return self._scope(user)

    def managed_by(self, user):
        guarded = _guard(self, user)
        if guarded is False:
            return self.none()
        if guarded is not None:
            return guarded
        return self._manage_scope(user)

    def _scope_vendor_without_organization(self, user):
        return self.none()

    def _scope(self, user):  # pragma: no cover - each model defines its rule
        raise NotImplementedError(f"{type(self).__name__} must define its scoping rule")

    def _manage_scope(self, user):
        """Below admin, nobody manages rows of a model that does not say otherwise."""
        return self.none()


def get_visible(queryset, user, **lookup):
    """The one object matching `lookup` that `user` may see, else `NotFound`."""
    obj = queryset.visible_to(user).filter(**lookup).first()
    if obj is None:
        raise NotFound()
    return obj


def get_manageable(queryset, user, *, message: str = "", **lookup):
    """The one object matching `lookup` that `user` may change.

    Invisible (or missing) is `NotFound`; visible but not manageable is `Forbidden`.
    """
    obj = get_visible(queryset, user, **lookup)
    if not queryset.model._default_manager.all().managed_by(user).filter(pk=obj.pk).exists():
        raise Forbidden(message or "You can see this but not change it.")
    return obj


def require_manageable(user, obj, *, message: str = "") -> None:
    """Raise unless `user` may change `obj` (which the caller already knows is visible)."""
    manager = type(obj)._default_manager
    if not manager.all().visible_to(user).filter(pk=obj.pk).exists():
        raise NotFound()
    if not manager.all().managed_by(user).filter(pk=obj.pk).exists():
        raise Forbidden(message or "You can see this but not change it.")
