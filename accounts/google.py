"""Google sign-in from a SPA: `POST /api/v1/auth/google {"id_token"}` (seed 003).

The ID token is verified with google-auth against the certificates at `GOOGLE_CERTS_URL`
(Google's, cached `GOOGLE_CERTS_CACHE_S`): RS256 signature, audience = `GOOGLE_CLIENT_ID`,
issuer `accounts.google.com`, expiry. Then:

- a Google account already linked (allauth `SocialAccount`, provider "google", uid = `sub`)
  signs in its user;
- otherwise the token's email must be verified by Google (`email_verified`), else 403
  `GoogleEmailNotVerified`: an account is linked only through a verified address. An
  existing account with that email is linked (if it was never verified, its password is
  dropped: whoever signed up with someone else's address cannot keep a way in), or a new
  member account is created (verified, no password; the privacy policy version in force
  must be accepted in the same request, as at sign-up).

Suspended or erased accounts are refused (403 `AccountDisabled`).
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Role, User, UserStatus
from accounts.validators import validate_single_line
from core.exceptions import DomainError, Forbidden, Invalid

logger = logging.getLogger("commonwatt.accounts")
ISSUERS = ("accounts.google.com", "https://accounts.google.com")
PROVIDER = "google"


class GoogleTokenInvalid(DomainError):
    """The Google ID token is invalid or has expired."""

    status_code = 401
    error = "InvalidGoogleToken"


class _Response:
    def __init__(self, status: int, data: bytes):
        self.status, self.data, self.headers = status, data, {}


class _CachedCerts:
    """google-auth's transport interface (`request(url, method=...)`), with a timeout and
    the certificates cached: Google rotates them daily, a fetch per sign-in is waste."""

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        key = f"accounts:google-certs:{url}"
        data = cache.get(key)
        if data is None:
            response = requests.get(url, timeout=settings.GOOGLE_CERTS_TIMEOUT_S)
            if response.status_code != 200:
                return _Response(response.status_code, response.content)
            data = response.content
            cache.set(key, data, settings.GOOGLE_CERTS_CACHE_S)
        return _Response(200, data)


def google_claims(id_token: str) -> dict:
    """The verified claims of `id_token`; `GoogleTokenInvalid` for anything wrong with it."""
    from google.auth import exceptions as google_exceptions
    from google.oauth2 import id_token as google_id_token

    if not settings.GOOGLE_CLIENT_ID:
        raise Invalid(_("Google sign-in is not configured."), error="GoogleSignInDisabled")
    try:
        claims = google_id_token.verify_token(id_token, _CachedCerts(), audience=settings.GOOGLE_CLIENT_ID,
                                              certs_url=settings.GOOGLE_CERTS_URL,
                                              clock_skew_in_seconds=10)
    except (ValueError, google_exceptions.GoogleAuthError, requests.RequestException) as exc:
        logger.info("google token refused", extra={"reason": type(exc).__name__})
        raise GoogleTokenInvalid() from None
    if claims.get("iss") not in ISSUERS or not claims.get("sub"):
        raise GoogleTokenInvalid()
    return claims


def _verified(claims: dict) -> bool:
    return claims.get("email_verified") in (True, "true", "True")


def _usable(user: User) -> User:
    if not user.is_active:
        raise Forbidden(_("This account is disabled."), error="AccountDisabled")
    return user


@transaction.atomic
def google_sign_in(*, id_token: str, privacy_policy_version: str = "") -> User:
    """The user the Google ID token signs in (linking or creating it, see the module)."""
    from allauth.socialaccount.models import SocialAccount

    from accounts.services import (
        email_address_sync,
        signup_check,
        signup_created,
        unique_username,
    )

    claims = google_claims(id_token)
    link = SocialAccount.objects.select_related("user").filter(provider=PROVIDER, uid=claims["sub"]).first()
    if link is not None:
        return _usable(link.user)
    email = User.objects.normalize_email(str(claims.get("email") or "")).lower()
    if not email or not _verified(claims):
        raise Forbidden(_("Google has not verified this email address, so it cannot sign you in."),
                        error="GoogleEmailNotVerified")
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is not None:
        _usable(user)
        if not user.is_verified:
            # Someone may have signed up with this address without owning it.
            user.set_unusable_password()
            user.is_verified = True
            user.save(update_fields=["password", "is_verified", "updated_at"])
            email_address_sync(user=user)
    else:
        extra = signup_check(privacy_policy_version=privacy_policy_version)
        name = " ".join(str(claims.get("name") or "").split())[:200]
        try:
            validate_single_line(name)
        except DjangoValidationError:
            name = ""
        user = User(email=email, full_name=name, role=Role.USER, status=UserStatus.ACTIVE,
                    is_verified=True, username=unique_username(email.split("@")[0]))
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # the same address signed in twice at once
            raise GoogleTokenInvalid(_("Try again.")) from None
        email_address_sync(user=user)
        signup_created(user=user, payload=extra)
    # Only the provider and Google's stable id: nothing personal is copied here.
    SocialAccount.objects.get_or_create(provider=PROVIDER, uid=claims["sub"], defaults={"user": user,
                                                                                        "extra_data": {}})
    return user
