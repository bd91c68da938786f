"""The audit log: who did what to whom (STYLE.md habit 17), append-only in the database.

Rows hold ids, never a person's name, email or free text: the log outlives an erasure
(privacy.services.erasure_execute) and must then hold nothing that identifies the person
beyond the pseudonymous user id the financial records keep too.
"""

from django.conf import settings
from django.db import models

from core.scoping import ScopedQuerySet


class AuditEventQuerySet(ScopedQuerySet):
    def _scope(self, user):
        # Admins only (the guard answers them before this): the log spans every tenant.
        return self.none()


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # No database foreign key and no cascade: a row never changes once written (the
    # trigger refuses UPDATE/DELETE), so a deleted user leaves its id here.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.DO_NOTHING, db_constraint=False,
                              related_name="+", help_text="Who acted (empty: the system).")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    target_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.DO_NOTHING, db_constraint=False,
                                    related_name="+", help_text="The person the action concerns.")
    request_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # GET /api/v1/audit?target_user=: everything done to one person
            models.Index(fields=["target_user", "-id"], name="audit_target_idx"),
            # GET /api/v1/audit?actor=: everything one staff member did
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"
