from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from accounts.validators import validate_fiscal_code, validate_single_line
from core.scoping import ScopedQuerySet


class OrganizationQuerySet(ScopedQuerySet):
    def _scope(self, user):
        if user.role == Role.VENDOR:
            return self.filter(pk=user.organization_id)
        if user.role == Role.REFERENT:
            return self.filter(communities__referents=user).distinct()
        return self.none()


class Organization(models.Model):
    """The tenant: an installer or utility that runs several communities."""

    name = models.CharField(max_length=200, validators=[validate_single_line])
    slug = models.SlugField(unique=True)
    vat_number = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    VENDOR = "vendor", "Vendor (organization staff)"
    REFERENT = "referent", "Referent (community manager)"
    USER = "user", "Member"


STAFF_ROLES = (Role.ADMIN, Role.VENDOR, Role.REFERENT)
# The roles each staff role below admin may give (and so manage): the grant rules.
_GRANTABLE_ROLES = {
    Role.VENDOR: (Role.USER, Role.REFERENT, Role.VENDOR),
    Role.REFERENT: (Role.USER,),
}


class MemberType(models.TextChoices):
    CONSUMER = "consumer", "Consumer"
    PRODUCER = "producer", "Producer"
    PROSUMER = "prosumer", "Prosumer"


class UserType(models.TextChoices):
    REAL = "real", "Real"
    SIMULATED = "simulated", "Simulated"


class UserStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class UserQuerySet(ScopedQuerySet):
    def _scope_vendor_without_organization(self, user):
        return self.filter(pk=user.pk)

    def _scope(self, user):
        if user.role == Role.VENDOR:
            org = user.organization_id
            return self.filter(
                Q(pk=user.pk)
                | Q(organization_id=org)
                | Q(memberships__community__organization_id=org)
                | Q(managed_communities__organization_id=org)
            ).distinct()
        if user.role == Role.REFERENT:
            return self.filter(
                Q(pk=user.pk) | Q(memberships__community__referents=user)
            ).distinct()
        return self.filter(pk=user.pk)

    def _manage_scope(self, user):
        """Users `user` may change: the API's grant rules (accounts.services), in one query.

        Below admin nobody manages an admin or a superuser, nor anyone tied to a tenant the
        actor does not manage (else changing their email then resetting the password would
        take over an account of another organization):
        - vendors: themselves, and members, referents and vendors whose every organization,
          membership and managed community belongs to the vendor's organization;
        - referents: themselves, and members all of whose memberships are in communities
          they manage;
        - members: themselves (their own profile; self-protected fields stay the service's).
        """
        own = Q(pk=user.pk)
        membership = self.model._meta.get_field("memberships").related_model
        community = membership._meta.get_field("community").related_model
        if user.role == Role.VENDOR:
            org = user.organization_id
            foreign = community._default_manager.exclude(organization_id=org)
            others = (
                self._scope(user)
                .filter(role__in=_GRANTABLE_ROLES[Role.VENDOR], is_superuser=False)
                .filter(Q(organization__isnull=True) | Q(organization_id=org))
                .exclude(memberships__community__in=foreign)
                .exclude(managed_communities__in=foreign)
            )
            return self.filter(Q(own) | Q(pk__in=others.values("pk")))
        if user.role == Role.REFERENT:
            foreign = community._default_manager.exclude(referents=user)
            others = (
                self.filter(memberships__community__referents=user)
                .filter(role__in=_GRANTABLE_ROLES[Role.REFERENT], is_superuser=False,
                        organization__isnull=True)
                .exclude(memberships__community__in=foreign)
                .exclude(managed_communities__isnull=False)
            )
            return self.filter(Q(own) | Q(pk__in=others.values("pk")))
        return self.filter(own)


class CommonWattUserManager(UserManager.from_queryset(UserQuerySet)):
    def create_superuser(self, username=None, email=None, password=None, **extra):
        extra.setdefault("role", Role.ADMIN)
        extra.setdefault("status", UserStatus.ACTIVE)
        extra.setdefault("is_verified", True)
        extra.pop("is_staff", None)
        extra["is_superuser"] = True
        username = username or (email or "").split("@")[0] or "admin"
        return self._create_user(username, email, password, **extra)

    def create_user(self, username=None, email=None, password=None, **extra):
        extra.pop("is_staff", None)
        username = username or (email or "").split("@")[0]
        extra.setdefault("is_superuser", False)
        return self._create_user(username, email, password, **extra)


class User(AbstractUser):
    """A person on the platform. Logs in with email; `role` decides what they may do."""

    first_name = None
    last_name = None

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True, validators=[validate_single_line])
    fiscal_code = models.CharField(
        max_length=16, blank=True, validators=[validate_fiscal_code],
        help_text="Italian codice fiscale; checked when given.",
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    member_type = models.CharField(
        max_length=16, choices=MemberType.choices, default=MemberType.CONSUMER
    )
    user_type = models.CharField(max_length=16, choices=UserType.choices, default=UserType.REAL)
    status = models.CharField(max_length=16, choices=UserStatus.choices, default=UserStatus.ACTIVE)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="staff",
        help_text="For vendor staff: the organization they work for.",
    )
    address = models.CharField(max_length=300, blank=True)
    preferences = models.JSONField(default=dict, blank=True)
    is_verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    objects = CommonWattUserManager()

    class Meta:
        ordering = ["id"]
        indexes = [
            # users list filters: role / member type / status in one scope
            models.Index(fields=["role", "member_type", "status"]),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_staff(self) -> bool:
        """Back-office access: admins, vendors and referents (their admin is scoped)."""
        return self.is_active and (self.is_superuser or self.role in STAFF_ROLES)

    @property
    def is_platform_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    def has_perm(self, perm, obj=None) -> bool:
        # Platform admins hold every permission, like superusers (role is the source of truth).
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_module_perms(app_label)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name or self.email).split(" ")[0]

    def clean(self):
        super().clean()
        if self.fiscal_code:
            self.fiscal_code = self.fiscal_code.strip().upper()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class AccountEmailKind(models.TextChoices):
    REGISTER = "register", "Sign-up (creates the account, or tells its owner it exists)"
    PASSWORD_RESET = "password_reset", "Password reset (sent only if the account exists)"
    INVITATION = "invitation", "Invitation to choose a password"
    LOGIN_LINK = "login_link", "One-time login link (works while the account is locked)"
    RENDERED = "rendered", "A message rendered in the request (allauth's web emails)"


class AccountEmail(models.Model):
    """Outbox of the account emails (STYLE.md habit 16).

    The request only writes this row (same work whether the account exists or not, so
    neither the answer nor its timing tells); a Celery task sends it and marks it sent,
    and a beat task re-sweeps rows a worker did not send. `payload` holds what the sender
    needs (a sign-up's name and password *hash*; a rendered message) and is emptied once
    sent.
    """

    kind = models.CharField(max_length=32, choices=AccountEmailKind.choices)
    email = models.CharField(max_length=254)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="account_emails")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # the sweep: unsent rows, oldest first
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True),
                         name="accounts_email_unsent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.email}"
