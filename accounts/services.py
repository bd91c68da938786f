"""Writes on accounts: one function per business action (see STYLE.md, habit 1).

Who may create or change whom:
- admins: anyone, any role, any organization;
- vendors: members, referents and vendor colleagues of their own organization; a member or
  referent they create must be placed in a community of their organization (`community`),
  otherwise they could not see the user they just created;
- referents: members only, placed in a community they manage (`community` required);
- members: nobody but themselves, through the profile.
Role escalation (setting a role the actor may not grant) is a 403.
"""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts import emails, lockout
from accounts.models import Organization, Role, User, UserStatus, UserType
from accounts.tokens import read_password_reset_token, read_verify_email_token

PROFILE_FIELDS = ("full_name", "username", "fiscal_code", "address", "preferences")
STAFF_EDITABLE_FIELDS = (*PROFILE_FIELDS, "email", "member_type", "user_type", "status", "role",
                         "organization")
# Fields a person may not change on their own account (unless they are a platform admin).
SELF_PROTECTED_FIELDS = ("role", "status", "user_type", "organization", "member_type", "email")

_GRANTABLE_ROLES = {
    Role.VENDOR: {Role.USER, Role.REFERENT, Role.VENDOR},
    Role.REFERENT: {Role.USER},
}


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from None


def _unique_username(base: str) -> str:
    base = "".join(c for c in base if c.isalnum() or c in "@.+-_")[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _save(user: User) -> None:
    """Model validation (fiscal code check character, email format...) then save; 400 on error."""
    if user.fiscal_code:
        user.fiscal_code = user.fiscal_code.strip().upper()
    user.email = User.objects.normalize_email(user.email).strip().lower()
    try:
        user.full_clean(exclude=["password"])
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"email": ["A user with this email already exists."]}) from None


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


def _set_active_from_status(user: User) -> None:
    user.is_active = user.status != UserStatus.SUSPENDED


# --- self-service (API and portal) ------------------------------------------------------


@transaction.atomic
def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """Self sign-up through the API: a member, unverified until the emailed link is used."""
    user = User(email=email, full_name=full_name, role=Role.USER, status=UserStatus.ACTIVE,
                is_verified=False)
    user.username = _unique_username(email.split("@")[0])
    _check_password(password, user)
    user.set_password(password)
    _save(user)
    email_address_sync(user=user)
    transaction.on_commit(lambda: emails.send_verify_email(user.pk))
    return user


@transaction.atomic
def user_verify_email(*, token: str) -> User:
    user = read_verify_email_token(token)
    if not user.is_verified:
        user.is_verified = True
        user.save(update_fields=["is_verified", "updated_at"])
    email_address_sync(user=user)
    return user


def password_reset_request(*, email: str) -> None:
    """Emails a reset token if an active account has this email; silent otherwise.

    The caller answers the same whatever happens here, so nobody can probe which emails
    have an account.
    """
    user = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
    if user is not None and user.user_type == UserType.REAL:
        transaction.on_commit(lambda: emails.send_password_reset(user.pk))


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
    if role not in _GRANTABLE_ROLES.get(actor.role, set()):
        raise PermissionDenied(f"You may not give the role '{role}'.")


# Placing a new user in a community belongs to the communities app: it registers its two
# functions here when Django starts (communities.apps). Accounts never import communities.
_placement: dict = {}


def account_placement_register(*, resolve, place) -> None:
    """`resolve(actor=, community_id=)` -> the community (or a domain error);
    `place(user=, community=)` puts the just-created user in it."""
    _placement.update(resolve=resolve, place=place)


def _community_for(actor: User, community_id):
    if "resolve" not in _placement:
        raise ValidationError({"community": ["Communities are not available."]})
    return _placement["resolve"](actor=actor, community_id=community_id)


def _organization_for(actor: User, organization_id):
    if organization_id is None:
        return actor.organization if actor.role == Role.VENDOR else None
    if not actor.is_platform_admin and organization_id != actor.organization_id:
        raise PermissionDenied("You may only add people to your own organization.")
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        raise ValidationError({"organization": ["Unknown organization."]})
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
        raise PermissionDenied("Only staff may create users.")
    _check_role_grant(actor, role)
    community = None
    if community_id is not None:
        community = _community_for(actor, community_id)
    elif not actor.is_platform_admin and role in (Role.USER, Role.REFERENT):
        raise ValidationError({"community": ["Required: the community the new user joins."]})
    organization = _organization_for(actor, organization_id) if role == Role.VENDOR or (
        organization_id is not None) else None
    if role == Role.VENDOR and organization is None:
        raise ValidationError({"organization": ["A vendor belongs to an organization."]})

    user = User(
        email=email, full_name=full_name, role=role, user_type=user_type,
        status=status or (UserStatus.ACTIVE if password else UserStatus.INVITED),
        fiscal_code=fiscal_code or "", address=address or "", preferences=preferences or {},
        organization=organization, is_verified=False,
    )
    if member_type:
        user.member_type = member_type
    user.username = username or _unique_username(email.split("@")[0])
    _set_active_from_status(user)
    if password:
        _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    _save(user)
    email_address_sync(user=user)
    if community is not None:
        _place_in_community(user, community)
    if not password and user.user_type == UserType.REAL:
        _invitation_queue(user)
    return user


def _invitation_queue(user: User) -> None:
    transaction.on_commit(lambda: emails.send_password_reset(user.pk, invitation=True))


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
                username=_unique_username(email.split("@")[0]))
    user.set_unusable_password()
    _save(user)
    email_address_sync(user=user)
    _invitation_queue(user)
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, data: dict) -> User:
    """Changes a user the actor can see (the caller has already scoped `user`).

    People may not change their own role, status, type, organization or email here; only
    admins give the admin role; vendors and referents give only the roles they may create.
    """
    changed = {f: v for f, v in data.items()
               if f in STAFF_EDITABLE_FIELDS and _current(user, f) != _normal(f, v)}
    is_self = actor.pk == user.pk
    if not actor.is_platform_admin:
        if is_self and set(changed) & set(SELF_PROTECTED_FIELDS):
            fields = ", ".join(sorted(set(changed) & set(SELF_PROTECTED_FIELDS)))
            raise PermissionDenied(f"You may not change your own {fields}.")
        if not is_self and not actor.is_staff:
            raise PermissionDenied("You may not change other users.")
        if user.is_platform_admin and not is_self:
            raise PermissionDenied("Only admins may change an admin.")
        if "role" in changed:
            _check_role_grant(actor, changed["role"])
            _check_role_grant(actor, user.role)
        if "organization" in changed:
            raise PermissionDenied("Only admins may move a user to another organization.")
    elif "role" in changed and is_self and changed["role"] != Role.ADMIN and not actor.is_superuser:
        raise PermissionDenied("You may not remove your own admin role.")

    for field, value in changed.items():
        if field == "organization":
            user.organization = (
                None if value is None else _organization_for(actor, _normal("organization", value))
            )
        else:
            setattr(user, field, value if value is not None else "")
    if user.role == Role.VENDOR and user.organization_id is None:
        raise ValidationError({"organization": ["A vendor belongs to an organization."]})
    if "email" in changed:
        user.is_verified = False
    _set_active_from_status(user)
    _save(user)
    if "email" in changed:
        email_address_sync(user=user)
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
