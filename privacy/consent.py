"""Consent to the privacy policy: which version each user accepted, when, and withdrawal.

The version in force is the newest `PolicyVersion` whose `effective_at` has passed (staff
publish versions in the admin; none published means nothing to accept). Until a signed-in
user has a live acceptance of that version, the API answers 403 with
`{"error": "ConsentRequired", "details": {"policy_version": ...}}` and the portal sends them
to the accept page. The endpoints a person needs to decide stay open without it: the
policy itself, accept/withdraw, their profile, data export and erasure (their rights do not
depend on accepting), and the authentication endpoints.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from core.exceptions import Forbidden, Invalid
from privacy.models import Consent, PolicyVersion

_CACHE_KEY = "privacy:current-policy"
_CACHE_S = 60


class ConsentRequired(Forbidden):
    error = "ConsentRequired"


def policy_current() -> PolicyVersion | None:
    cached = cache.get(_CACHE_KEY)
    if cached is None:
        policy = PolicyVersion.objects.current()
        # Cache "none yet" too; a version taking effect later is picked up within a minute.
        cached = (policy.pk if policy else 0, policy.version if policy else "")
        cache.set(_CACHE_KEY, cached, _CACHE_S)
    pk, _version = cached
    return PolicyVersion.objects.filter(pk=pk).first() if pk else None


def _current_ids() -> tuple[int, str]:
    if cache.get(_CACHE_KEY) is None:
        policy_current()
    return cache.get(_CACHE_KEY) or (0, "")


@receiver([post_save, post_delete], sender=PolicyVersion)
def _policy_changed(**kwargs):
    cache.delete(_CACHE_KEY)


def consent_missing(user) -> str:
    """The policy version `user` must still accept ("" when none)."""
    policy_id, version = _current_ids()
    if not policy_id:
        return ""
    accepted = Consent.objects.filter(user_id=user.pk, policy_id=policy_id, withdrawn_at__isnull=True)
    return "" if accepted.exists() else version


def consent_state(*, user) -> dict:
    policy = policy_current()
    live = (Consent.objects.filter(user_id=user.pk, withdrawn_at__isnull=True)
            .select_related("policy").order_by("-accepted_at").first())
    return {
        "current_version": policy.version if policy else None,
        "current_url": policy.url if policy else "",
        "current_summary": policy.summary if policy else "",
        "accepted_version": live.policy.version if live else None,
        "accepted_at": live.accepted_at if live else None,
        "required": bool(policy) and not (live and live.policy_id == policy.pk),
    }


@transaction.atomic
def consent_accept(*, user, version: str) -> Consent:
    """Records that `user` accepts `version`, which must be the version in force."""
    policy = policy_current()
    if policy is None or policy.version != version:
        raise Invalid(details={"version": [_("Accept the privacy policy version in force.")]},
                      error="ConsentVersionMismatch")
    live = Consent.objects.filter(user_id=user.pk, policy=policy, withdrawn_at__isnull=True).first()
    if live is not None:
        return live
    try:
        with transaction.atomic():
            return Consent.objects.create(user_id=user.pk, policy=policy)
    except IntegrityError:  # a concurrent accept of the same version
        return Consent.objects.get(user_id=user.pk, policy=policy, withdrawn_at__isnull=True)


@transaction.atomic
def consent_withdraw(*, user) -> int:
    """Withdraws every live acceptance of `user` (they can no longer use the API or portal
    until they accept again; export and erasure stay open). Returns how many."""
    return Consent.objects.filter(user_id=user.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now())


class PolicyAccepted(BasePermission):
    """A default permission: signed-in callers must have accepted the policy in force."""

    def has_permission(self, request, view):
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return True  # IsAuthenticated (listed first) answers
        version = consent_missing(user)
        if version:
            raise ConsentRequired(_("Accept the privacy policy (version %(version)s) to continue.")
                                  % {"version": version}, details={"policy_version": version})
        return True


# --- sign-up (accounts.services.signup_steps_register, wired in privacy.apps) -------------


def signup_check(*, privacy_policy_version: str = "", **_ignored) -> dict:
    """At sign-up, the policy in force must be the one accepted; returns the outbox payload.

    One query every time (no cache): a sign-up does the same work whatever the address."""
    policy = PolicyVersion.objects.current()
    if policy is None:
        return {}
    if privacy_policy_version != policy.version:
        raise Invalid(_("Accept the privacy policy (version %(version)s) to sign up.")
                      % {"version": policy.version},
                      details={"privacy_policy_version": [policy.version]}, error="ConsentRequired")
    return {"privacy_policy_version": policy.version}


def signup_created(*, user, payload: dict) -> None:
    version = payload.get("privacy_policy_version")
    policy = PolicyVersion.objects.filter(version=version).first() if version else None
    if policy is not None:
        Consent.objects.get_or_create(user=user, policy=policy, withdrawn_at=None)
