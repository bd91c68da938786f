"""The one scoping rule per model: `Model.objects.visible_to(user)`.

Every user-facing read (API, admin, portal, websockets, exports) starts from it. Each
model's QuerySet subclasses ScopedQuerySet and implements `_scope(user)` for the roles
below admin; admins (and superusers) see everything, anonymous users nothing.
"""

from django.db import models


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, user):
        if user is None or not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser or getattr(user, "role", None) == "admin":
            return self.all()
        if not user.is_active:
            return self.none()
        if getattr(user, "role", None) == "vendor" and getattr(user, "organization_id", None) is None:
            # A vendor without an organization is a misconfiguration; never let
            # `organization_id=None` filters match every row that has no organization.
            return self._scope_vendor_without_organization(user)
        return self._scope(user)

    def _scope_vendor_without_organization(self, user):
        return self.none()

    def _scope(self, user):  # pragma: no cover - each model defines its rule
        raise NotImplementedError(f"{type(self).__name__} must define its scoping rule")
