"""Privacy (GDPR): policy versions and consents, export jobs, erasure requests; API keys."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.scoping import ScopedQuerySet

# --- consent ----------------------------------------------------------------------------


class PolicyVersionQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.all()  # the policy is public to every signed-in user

    def current(self, *, now=None):
        """The version in force: the latest whose `effective_at` has passed (None: none yet)."""
        from django.db.models.functions import Now

        return self.filter(effective_at__lte=now or Now()).order_by("-effective_at").first()


class PolicyVersion(models.Model):
    """One published version of the privacy policy. The newest in force must be accepted."""

    version = models.CharField(max_length=32, unique=True)
    url = models.URLField(blank=True, help_text="Where the full text is published.")
    summary = models.TextField(blank=True, help_text="What changed, shown on the re-accept page.")
    effective_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_at"]

    def __str__(self) -> str:
        return self.version


class ConsentQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(user=user)


class Consent(models.Model):
    """A user's acceptance of one policy version (`withdrawn_at` once they withdraw it)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    policy = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="consents")
    accepted_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "policy"], condition=Q(withdrawn_at__isnull=True),
                                    name="privacy_one_live_consent_per_version"),
        ]
        indexes = [
            # the consent check on every API request: the user's live acceptance
            models.Index(fields=["user", "policy"], condition=Q(withdrawn_at__isnull=True),
                         name="privacy_consent_live_idx"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} accepts {self.policy_id}"


# --- export and erasure -------------------------------------------------------------------


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class _SubjectScoped(ScopedQuerySet):
    """Rows about a person: visible to whoever sees the person, managed by whoever manages them."""

    def _scope(self, user):
        from accounts.models import User

        return self.filter(subject__in=User.objects.visible_to(user).values("pk"))

    def _manage_scope(self, user):
        from accounts.models import User

        return self.filter(subject__in=User.objects.managed_by(user).values("pk"))


class ExportJobQuerySet(ScopedQuerySet):
    def _scope(self, user):
        # A download is for the person who asked (the subject, or staff who ran it for them).
        return self.filter(requested_by=user)


class ExportJob(models.Model):
    """A GDPR export of everything held about `subject`, built by Celery as a ZIP."""

    subject = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"export #{self.pk} of user {self.subject_id} ({self.status})"


class ErasureStatus(models.TextChoices):
    PENDING = "pending", "Pending confirmation"
    DONE = "done", "Erased"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class ErasureRequest(models.Model):
    """A person's request to be erased; a referent or admin who manages them confirms it."""

    subject = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=ErasureStatus.choices, default=ErasureStatus.PENDING)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = _SubjectScoped.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subject"], condition=Q(status="pending"),
                                    name="privacy_one_pending_erasure"),
        ]

    def __str__(self) -> str:
        return f"erasure #{self.pk} of user {self.subject_id} ({self.status})"


# --- API keys -----------------------------------------------------------------------------


class ApiKeyAccess(models.TextChoices):
    READ = "read", "Read-only"
    READ_WRITE = "read_write", "Read-write"


class ApiKeyQuerySet(ScopedQuerySet):
    def _scope(self, user):
        from accounts.models import Role

        if user.role == Role.VENDOR:
            return self.filter(Q(created_by=user) | Q(organization_id=user.organization_id))
        return self.filter(created_by=user)

    def _manage_scope(self, user):
        return self._scope(user)


class ApiKey(models.Model):
    """An integrator's key (`Authorization: Api-Key <prefix>.<secret>`).

    Only a SHA-256 of the secret is stored (the secret is 256 random bits, so a slow hash
    adds nothing); the prefix is shown in lists to tell keys apart. The key acts as its
    creator narrowed to `organization` (see privacy.apikeys).
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    access = models.CharField(max_length=16, choices=ApiKeyAccess.choices, default=ApiKeyAccess.READ)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="api_keys")
    organization = models.ForeignKey("accounts.Organization", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="api_keys",
                                     help_text="The tenant the key is scoped to (empty: the "
                                               "communities its referent creator manages).")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def is_usable(self, *, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
