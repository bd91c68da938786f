"""API keys for integrators: `Authorization: Api-Key <prefix>.<secret>` (seed 000).

A key acts as its creator narrowed to the key's own scope, never more:

- created by a vendor: the vendor's organization (the key sees what the vendor sees);
- created by a referent: the communities that referent manages;
- created by an admin: one organization, named on the key; the key then acts as a vendor of
  that organization (an admin's key never spans tenants).

Every request re-checks the creator: a creator who was deactivated, or who no longer holds
the role or organization the key was made under, takes the key down with them (401).
Read-only keys get 403 on unsafe methods. A key may not manage keys (no escalation).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts.models import Role
from core.exceptions import Forbidden, Invalid
from privacy.models import ApiKey, ApiKeyAccess

KEYWORD = "Api-Key"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_LAST_USED_EVERY = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- services -------------------------------------------------------------------------


@transaction.atomic
def api_key_create(*, actor, name: str, access: str = ApiKeyAccess.READ,
                   organization_id: int | None = None, expires_at=None) -> tuple[ApiKey, str]:
    """A new key and its full text (shown once; only its hash is kept)."""
    import audit

    if getattr(actor, "api_key", None) is not None:
        raise Forbidden(_("An API key cannot create API keys."))
    if not actor.is_staff:
        raise Forbidden(_("Only staff create API keys."))
    if actor.is_platform_admin:
        if organization_id is None:
            raise Invalid(details={"organization": [_("An admin's key is scoped to one organization.")]})
        from accounts.models import Organization

        if not Organization.objects.filter(pk=organization_id).exists():
            raise Invalid(details={"organization": [_("Unknown organization.")]})
    elif actor.role == Role.VENDOR:
        if organization_id not in (None, actor.organization_id):
            raise Forbidden(_("You may only create keys for your own organization."))
        organization_id = actor.organization_id
    elif organization_id is not None:
        raise Forbidden(_("A referent's key covers the communities they manage."))
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid(details={"expires_at": [_("Must be in the future.")]})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(name=name, prefix=prefix, secret_hash=_digest(secret), access=access,
                                created_by=actor, organization_id=organization_id,
                                expires_at=expires_at)
    audit.record(actor=actor, action="api_key.create", obj=key,
                 detail={"access": access, "organization": organization_id})
    return key, f"{prefix}.{secret}"


@transaction.atomic
def api_key_revoke(*, actor, key_id: int) -> ApiKey:
    import audit
    from core.scoping import get_manageable

    if getattr(actor, "api_key", None) is not None:
        raise Forbidden(_("An API key cannot manage API keys."))
    key = get_manageable(ApiKey.objects.all(), actor, pk=key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(actor=actor, action="api_key.revoke", obj=key)
    return key


def api_key_list(*, actor):
    if getattr(actor, "api_key", None) is not None:
        raise Forbidden(_("An API key cannot manage API keys."))
    if not actor.is_staff:
        raise Forbidden(_("Only staff manage API keys."))
    return ApiKey.objects.visible_to(actor).select_related("organization")


# --- authentication ---------------------------------------------------------------------


def _refuse_save(*args, **kwargs):
    raise Forbidden(_("An API key cannot change its creator's account."))


def _effective_user(key: ApiKey):
    """The creator narrowed to the key's scope, or None when the creator lost that scope."""
    creator = key.created_by
    if not creator.is_active:
        return None
    if key.organization_id is not None:
        if creator.is_platform_admin:
            acting = copy.copy(creator)
            acting.role, acting.is_superuser = Role.VENDOR, False
            acting.organization_id = key.organization_id
            acting._state = copy.copy(creator._state)
            acting._state.fields_cache = {}
        elif creator.role == Role.VENDOR and creator.organization_id == key.organization_id:
            acting = copy.copy(creator)
        else:
            return None
    elif creator.role == Role.REFERENT:
        acting = copy.copy(creator)
    else:
        return None
    acting.api_key = key
    acting.save = _refuse_save  # the copy may carry a narrowed role: never write it back
    return acting


class ApiKeyAuthentication(BaseAuthentication):
    keyword = KEYWORD

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid API key header."))
        try:
            prefix, secret = auth[1].decode().split(".", 1)
        except (UnicodeDecodeError, ValueError):
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from None
        key = (ApiKey.objects.select_related("created_by").filter(prefix=prefix).first()
               if len(prefix) <= 16 else None)
        if key is None or not hmac.compare_digest(key.secret_hash, _digest(secret)):
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        now = timezone.now()
        if not key.is_usable(now=now):
            raise exceptions.AuthenticationFailed(_("This API key has expired or was revoked."))
        user = _effective_user(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("This API key's creator no longer holds its scope."))
        if key.access == ApiKeyAccess.READ and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(_("This API key is read-only."))
        # One write a minute at most, not one per request.
        if key.last_used_at is None or key.last_used_at < now - _LAST_USED_EVERY:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return user, key

    def authenticate_header(self, request):
        return self.keyword


def key_for(user):
    """The API key a request authenticated with, or None."""
    return getattr(user, "api_key", None)



class ApiKeySchemeExtension(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme: `Authorization: Api-Key <prefix>.<secret>`."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <prefix>.<secret>`, created in the back office "
                               "(read-only keys get 403 on unsafe methods)."}
