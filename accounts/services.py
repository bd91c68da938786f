"""Writes on accounts: one function per business action (see STYLE.md, habit 1).

Who may create or change whom:
- admins: anyone, any role, any organization;
- vendors: members, referents and vendor colleagues of their own organization; a member or
  referent they create must be placed in a community of their organization (`community`),
  otherwise they could not see the user they just created;
- referents: members only, placed in a community they manage (`community` required);
- members: nobody but themselves, through the profile.
Role escalation (setting a role the actor may not grant) is a 403. The same grant rule
covers another user's email, status, user type and member type, and who may be changed at
all is `User.objects.managed_by(actor)` (see `UserQuerySet._manage_scope`): the API, the
portal and the back office all go through `user_update` / `user_set_password`.

Services raise domain errors (core.exceptions); each interface maps them to its answer.
"""

import secrets

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from accounts import lockout
from accounts.models import (
    _GRANTABLE_ROLES,
    AccountEmailKind,
    Organization,
    Role,
    User,
    UserStatus,
    UserType,
)
from accounts.outbox import email_enqueue
from accounts.tokens import (
    read_login_link_token,
    read_password_reset_token,
    read_verify_email_token,
)
from accounts.validators import validate_single_line
from core.exceptions import Forbidden, Invalid
from core.scoping import require_manageable

PROFILE_FIELDS = ("full_name", "username", "fiscal_code", "address", "preferences")
STAFF_EDITABLE_FIELDS = (*PROFILE_FIELDS, "email", "member_type", "user_type", "status", "role",
                         "organization")
# Fields only platform admins change (the back office shows them to admins only).
ADMIN_ONLY_FIELDS = ("is_verified", "is_superuser")
# Fields a person may not change on their own account (unless they are a platform admin).
SELF_PROTECTED_FIELDS = ("role", "status", "user_type", "organization", "member_type", "email",
                         *ADMIN_ONLY_FIELDS)
# Changing these on someone else follows the grant rule of the role (issue 8, item 3).
GRANT_RULED_FIELDS = ("role", "email", "status", "user_type", "member_type")


def invalid(details: dict) -> Invalid:
    """An `Invalid` whose message names the first field, like the API's validation errors."""
    field, messages = next(iter(details.items()))
    first = messages[0] if isinstance(messages, list | tuple) else messages
    return Invalid(f"{field}: {first}" if field != "non_field_errors" else str(first),
                   details={k: list(v) if isinstance(v, list | tuple) else [v]
                            for k, v in details.items()})


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise invalid({"password": list(exc.messages)}) from None


def unique_username(base: str) -> str:
    """A free username from `base` (the local part of an email). Free *now*: the insert
    that uses it still relies on the database's unique constraint (see `_save`)."""
    base = "".join(c for c in base if c.isalnum() or c in "@.+-_")[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _save(user: User, *, generated_username: bool = False) -> None:
    """Model validation (fiscal code check character, email format...) then save; 400 on error.

    Uniqueness is the database's: a concurrent insert of the same email or username is an
    IntegrityError here, answered 400 (never 500). A username this module generated is
    simply generated again.
    """
    if user.fiscal_code:
        user.fiscal_code = user.fiscal_code.strip().upper()
    user.email = User.objects.normalize_email(user.email).strip().lower()
    try:
        # Uniqueness is left to the insert below: a check here races with other requests.
        user.full_clean(exclude=["password"], validate_unique=False)
    except DjangoValidationError as exc:
        raise invalid(exc.message_dict) from None
    for _ in range(5):
        try:
            with transaction.atomic():
                user.save()
            return
        except IntegrityError:
            others = User.objects.exclude(pk=user.pk) if user.pk else User.objects.all()
            if others.filter(email__iexact=user.email).exists():
                raise invalid({"email": ["A user with this email already exists."]}) from None
            if not generated_username:
                raise invalid({"username": ["A user with this username already exists."]}) from None
            user.username = unique_username(f"{user.username[:130]}-{secrets.randbelow(10**6)}")
    raise invalid({"username": ["Could not find a free username; give one."]})


def email_address_sync(*, user: User) -> None:
    """Keeps allauth's EmailAddress row in line with `User.email` / `is_verified`.

    Users created outside allauth (API, admin, seed, createsuperuser) have no row, and
    allauth's mandatory verification would refuse them at the web login.
    """
    from allauth.account.models import EmailAddress

    address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
    if address is None:
        EmailAddress.objects.filter(user=user, primary=True).update(primary=False)
        EmailAddress.objects.create(user=user, email=user.email, primary=True,
                                    verified=user.is_verified)
    elif user.is_verified and not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])


def email_address_replace(*, user: User) -> None:
    """After an email change: allauth keeps only the new address (unverified)."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).delete()
    email_address_sync(user=user)


def _set_active_from_status(user: User) -> None:
    user.is_active = user.status != UserStatus.SUSPENDED


# --- self-service (API and portal) ------------------------------------------------------


# Sign-up steps other apps add (privacy: the policy version accepted), registered in their
# AppConfig.ready: `check(**data)` -> extra payload (or a domain error), `created(user=,
# payload=)` runs in the transaction that creates the account. Accounts never import them.
_signup: dict = {}


def signup_steps_register(*, check, created) -> None:
    _signup.update(check=check, created=created)


def signup_check(**data) -> dict:
    return _signup["check"](**data) if "check" in _signup else {}


def signup_created(*, user: User, payload: dict) -> None:
    if "created" in _signup:
        _signup["created"](user=user, payload=payload)


@transaction.atomic
def user_register(*, email: str, password: str, full_name: str = "",
                  privacy_policy_version: str = "") -> None:
    """Self sign-up through the API. Only queues it: the sender (accounts.outbox) creates
    the member, unverified, and mails the verification link, or tells the owner of an
    existing account. The request does the same work either way (validation, one hash, one
    insert), so neither its answer nor its timing says whether the address has an account.
    """
    email = User.objects.normalize_email((email or "").strip()).lower()
    probe = User(email=email, full_name=full_name or "")
    try:
        validate_single_line(probe.full_name)
    except DjangoValidationError as exc:
        raise invalid({"full_name": list(exc.messages)}) from None
    _check_password(password, probe)
    extra = signup_check(privacy_policy_version=privacy_policy_version)
    email_enqueue(kind=AccountEmailKind.REGISTER, email=email,
                  payload={"full_name": probe.full_name, "password": make_password(password), **extra})


@transaction.atomic
def user_verify_email(*, token: str) -> User:
    user = read_verify_email_token(token)
    if not user.is_verified:
        user.is_verified = True
        user.save(update_fields=["is_verified", "updated_at"])
    email_address_sync(user=user)
    return user


@transaction.atomic
def password_reset_request(*, email: str) -> None:
    """Queues a reset email; the sender mails a token only if an active account has it.

    The request does not even look the address up: the same insert either way, so nobody
    can probe which emails have an account, by the answer or by its timing.
    """
    email_enqueue(kind=AccountEmailKind.PASSWORD_RESET, email=(email or "").strip().lower())


@transaction.atomic
def password_reset_confirm(*, token: str, new_password: str) -> User:
    """Sets the new password. Proves the user reads that mailbox, so the email is verified;
    every refresh token issued before is blacklisted."""
    user = read_password_reset_token(token)
    _check_password(new_password, user)
    user.set_password(new_password)
    user.is_verified = True
    if user.status == UserStatus.INVITED:
        user.status = UserStatus.ACTIVE
    user.save()
    email_address_sync(user=user)
    refresh_tokens_revoke(user=user)
    lockout.clear(user.email)
    return user


@transaction.atomic
def login_link_request(*, email: str) -> None:
    """Queues a one-time login link; the sender mails it only if an active account has this
    address. The way in for an owner whose account an attacker keeps locked (accounts.lockout):
    the link proves the mailbox, not the password, so failed guesses cannot block it."""
    email_enqueue(kind=AccountEmailKind.LOGIN_LINK, email=(email or "").strip().lower())


@transaction.atomic
def login_link_confirm(*, token: str) -> User:
    """The user a (valid, unused) login link belongs to; the lock on the account is lifted
    and, since the link proves the mailbox, the email counts as verified."""
    user = read_login_link_token(token)
    if not user.is_verified:
        user.is_verified = True
        user.save(update_fields=["is_verified", "updated_at"])
    email_address_sync(user=user)
    lockout.clear(user.email)
    return user


def refresh_tokens_revoke(*, user: User) -> None:
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    for token in OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True):
        BlacklistedToken.objects.get_or_create(token=token)


@transaction.atomic
def user_profile_update(*, user: User, data: dict) -> User:
    """A person editing their own profile: name, username, fiscal code, address, preferences."""
    for field in PROFILE_FIELDS:
        if field in data:
            setattr(user, field, data[field] if data[field] is not None else "")
    _save(user)
    return user


# --- staff actions (users API, back office) --------------------------------------------


def _check_role_grant(actor: User, role: str) -> None:
    if actor.is_platform_admin:
        return
    if role not in _GRANTABLE_ROLES.get(actor.role, ()):
        raise Forbidden(gettext("You may not give the role '%(role)s'.") % {"role": role})


# Placing a new user in a community belongs to the communities app: it registers its two
# functions here when Django starts (communities.apps). Accounts never import communities.
_placement: dict = {}


def account_placement_register(*, resolve, place) -> None:
    """`resolve(actor=, community_id=)` -> the community (or a domain error);
    `place(user=, community=)` puts the just-created user in it."""
    _placement.update(resolve=resolve, place=place)


def _community_for(actor: User, community_id):
    if "resolve" not in _placement:
        raise invalid({"community": ["Communities are not available."]})
    return _placement["resolve"](actor=actor, community_id=community_id)


def _organization_for(actor: User, organization_id):
    if organization_id is None:
        return actor.organization if actor.role == Role.VENDOR else None
    if not actor.is_platform_admin and organization_id != actor.organization_id:
        raise Forbidden(gettext("You may only add people to your own organization."))
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        raise invalid({"organization": ["Unknown organization."]})
    return organization


def _place_in_community(user: User, community) -> None:
    _placement["place"](user=user, community=community)


@transaction.atomic
def user_create(*, actor: User, email: str, password: str | None = None, full_name: str = "",
                username: str = "", role: str = Role.USER, member_type: str | None = None,
                user_type: str = UserType.REAL, status: str | None = None,
                fiscal_code: str = "", address: str = "", preferences: dict | None = None,
                organization_id: int | None = None, community_id: int | None = None) -> User:
    """Creates a user for a staff actor (see the module docstring for who may do what).

    Without a password the account is `invited` and, for real people, an invitation email
    carries a token to choose one. With `community_id` the user joins that community in the
    same transaction (a Membership for members, the referents list for referents).
    """
    if not actor.is_staff:
        raise Forbidden(gettext("Only staff may create users."))
    _check_role_grant(actor, role)
    community = None
    if community_id is not None:
        community = _community_for(actor, community_id)
    elif not actor.is_platform_admin and role in (Role.USER, Role.REFERENT):
        raise invalid({"community": ["Required: the community the new user joins."]})
    organization = _organization_for(actor, organization_id) if role == Role.VENDOR or (
        organization_id is not None) else None
    if role == Role.VENDOR and organization is None:
        raise invalid({"organization": ["A vendor belongs to an organization."]})

    user = User(
        email=email, full_name=full_name, role=role, user_type=user_type,
        status=status or (UserStatus.ACTIVE if password else UserStatus.INVITED),
        fiscal_code=fiscal_code or "", address=address or "", preferences=preferences or {},
        organization=organization, is_verified=False,
    )
    if member_type:
        user.member_type = member_type
    user.username = username or unique_username(email.split("@")[0])
    _set_active_from_status(user)
    if password:
        _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    _save(user, generated_username=not username)
    email_address_sync(user=user)
    if community is not None:
        _place_in_community(user, community)
    if not password and user.user_type == UserType.REAL:
        _invitation_queue(user)
    _audit(actor, "user.create", user, detail={"role": user.role, "invited": not password,
                                               "community": getattr(community, "pk", None)})
    return user


def _audit(actor: User, action: str, user: User, detail: dict | None = None) -> None:
    """Staff actions on people go to the audit log (field names, never values)."""
    import audit

    audit.record(actor=actor, action=action, obj=user, target_user=user, detail=detail)


def _invitation_queue(user: User) -> None:
    email_enqueue(kind=AccountEmailKind.INVITATION, email=user.email, user=user)


@transaction.atomic
def user_invite(*, email: str, full_name: str = "") -> User:
    """The user with this email, or a new `invited` account for them (no usable password,
    an allauth email record, and an invitation email carrying a token to choose one).

    Used when staff invite a person to a community (communities.services.member_invite).
    """
    existing = User.objects.filter(email__iexact=email.strip()).first()
    if existing is not None:
        return existing
    user = User(email=email, full_name=full_name, status=UserStatus.INVITED, is_verified=False,
                username=unique_username(email.split("@")[0]))
    user.set_unusable_password()
    _save(user, generated_username=True)
    email_address_sync(user=user)
    _invitation_queue(user)
    return user


def user_update_check(*, actor: User, user: User, data: dict) -> dict:
    """The changes `data` makes to `user`, if `actor` may make them; a domain error if not.

    `user` must be visible to the actor (the caller fetched it with `get_visible`); someone
    visible but not manageable is `Forbidden`. People may not change their own role,
    status, types, organization or email; only admins touch an admin or a superuser;
    vendors and referents give only the roles they may create, and the same grant rule
    covers another user's email, status, user type and member type.
    """
    changed = {f: v for f, v in data.items()
               if f in (*STAFF_EDITABLE_FIELDS, *ADMIN_ONLY_FIELDS)
               and _current(user, f) != _normal(f, v)}
    is_self = actor.pk == user.pk
    if not actor.is_platform_admin:
        require_manageable(actor, user, message=gettext("You may not change this user."))
    if not changed:
        return changed
    if actor.is_platform_admin:
        if "role" in changed and is_self and changed["role"] != Role.ADMIN and not actor.is_superuser:
            raise Forbidden(gettext("You may not remove your own admin role."))
        if "is_superuser" in changed and not actor.is_superuser:
            raise Forbidden(gettext("Only superusers give or take the superuser flag."))
        return changed
    if is_self and set(changed) & set(SELF_PROTECTED_FIELDS):
        fields = ", ".join(sorted(set(changed) & set(SELF_PROTECTED_FIELDS)))
        raise Forbidden(gettext("You may not change your own %(fields)s.") % {"fields": fields})
    if set(changed) & set(ADMIN_ONLY_FIELDS):
        raise Forbidden(gettext("Only admins change these fields."))
    if not is_self and set(changed) & set(GRANT_RULED_FIELDS):
        _check_role_grant(actor, user.role)
    if "role" in changed:
        _check_role_grant(actor, changed["role"])
    if "organization" in changed:
        raise Forbidden(gettext("Only admins may move a user to another organization."))
    return changed


@transaction.atomic
def user_update(*, actor: User, user: User, data: dict) -> User:
    """Changes a user the actor manages (see `user_update_check` for the rules).

    An email change resets verification and replaces allauth's address rows (the old
    address can no longer log in or receive a reset); suspension revokes refresh tokens.
    """
    changed = user_update_check(actor=actor, user=user, data=data)
    was_active = user.is_active
    for field, value in changed.items():
        if field == "organization":
            user.organization = (
                None if value is None else _organization_for(actor, _normal("organization", value))
            )
        elif field in ADMIN_ONLY_FIELDS:
            setattr(user, field, bool(value))
        else:
            setattr(user, field, value if value is not None else "")
    if user.role == Role.VENDOR and user.organization_id is None:
        raise invalid({"organization": ["A vendor belongs to an organization."]})
    if "email" in changed:
        user.is_verified = False
    _set_active_from_status(user)
    _save(user)
    if "email" in changed:
        email_address_replace(user=user)
    if was_active and not user.is_active:
        refresh_tokens_revoke(user=user)
    if changed and (actor.pk != user.pk or actor.is_staff):
        action = ("user.suspend" if was_active and not user.is_active
                  else "user.reactivate" if user.is_active and not was_active else "user.update")
        _audit(actor, action, user, detail={"fields": sorted(changed)})
    return user


@transaction.atomic
def user_set_password(*, actor: User, user: User, password: str | None) -> User:
    """Staff set (or, with `password=None`, disable) the password of a user they manage.

    Only for others: one's own password changes with the old one (web, API reset flow).
    Every refresh token of the user is revoked (accounts.signals does it on any save
    that changes the password).
    """
    if actor.pk == user.pk and not actor.is_platform_admin:
        raise Forbidden(gettext("Change your own password with your current one."))
    if not actor.is_platform_admin:
        require_manageable(actor, user, message=gettext("You may not set this user's password."))
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password", "updated_at"])
        refresh_tokens_revoke(user=user)
    else:
        _check_password(password, user)
        user.set_password(password)
        user.save(update_fields=["password", "updated_at"])
    _audit(actor, "user.password_set" if password else "user.password_disable", user)
    return user


def _normal(field: str, value):
    if field == "organization":
        return getattr(value, "pk", value)
    if field == "email" and isinstance(value, str):
        return value.strip().lower()
    return value


def _current(user: User, field: str):
    if field == "organization":
        return user.organization_id
    return getattr(user, field)
