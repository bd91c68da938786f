"""Members' statements of posted settlement runs, and their email outbox.

A statement is stored, not recomputed: `data` is the statement as printed (energy, every
money line with the rule that produced it, totals), `content_hash` its SHA-256 over the
canonical JSON. Renderings (portal, PDF, CSV) read only `data`, so a statement re-sent
later is the same statement (and, for one language, the same PDF bytes).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet


def _managed_communities(user):
    from communities.models import Community

    return Community.objects.managed_by(user).values("pk")


class StatementQuerySet(ScopedQuerySet):
    def _scope(self, user):
        """A member sees their own statements; a referent (vendor) also those of the
        communities they manage."""
        return self.filter(Q(user=user) | Q(community__in=_managed_communities(user)))

    def _manage_scope(self, user):
        return self.filter(community__in=_managed_communities(user))


class StatementKind(models.TextChoices):
    REGULAR = "regular", _("Statement")
    CORRECTION = "correction", _("Correcting statement")


class Statement(models.Model):
    """One member's (or one plant investor's) statement of one posted run."""

    run = models.ForeignKey("settlement.SettlementRun", on_delete=models.PROTECT, related_name="statements")
    community = models.ForeignKey("communities.Community", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The period's first day (community's time zone).")
    membership = models.ForeignKey(
        "communities.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="statements",
        help_text="Empty for an investor paid on a plant without being a member.",
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="statements")
    kind = models.CharField(max_length=16, choices=StatementKind.choices, default=StatementKind.REGULAR)
    number = models.CharField(max_length=40, unique=True, help_text="<community>-<YYYY-MM>-<run>-<id>.")
    total_eur = models.DecimalField(max_digits=14, decimal_places=2)
    data = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StatementQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "-run_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "user"], name="statements_one_per_user_and_run"),
        ]
        indexes = [
            # the member's list and the home card: their statements, newest first
            models.Index(fields=["user", "-month"], name="statements_user_month_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class StatementEmail(models.Model):
    """Outbox of the statement emails (STYLE.md habit 16): written with the statement, sent
    by `statements.tasks.statement_email_send_task`, re-swept by beat.

    `claimed_at` is committed *before* the message leaves, `sent_at` after: a worker that
    dies in between leaves a claimed, unsent row; the sweep sends it again only after
    `STATEMENT_EMAIL_CLAIM_TIMEOUT_S`, with the same `Message-ID`, so mail systems collapse
    the two copies (SMTP has no idempotency key; this is the closest it gets)."""

    statement = models.OneToOneField(Statement, on_delete=models.CASCADE, related_name="email")
    email = models.CharField(max_length=254)
    message_id = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # the sweep: unsent rows, oldest first
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True),
                         name="statements_email_unsent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.statement} to {self.email}"
