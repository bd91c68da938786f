from core.exceptions import Forbidden
from core.scoping import _is_admin


def audit_list(*, actor, target_user: int | None = None, actor_id: int | None = None,
               action: str = "", object_type: str = "", since=None):
    """The audit log, newest first; admins only (the log spans every tenant)."""
    from audit.models import AuditEvent

    if not _is_admin(actor):
        raise Forbidden("Only admins read the audit log.")
    events = AuditEvent.objects.visible_to(actor)
    if target_user is not None:
        events = events.filter(target_user_id=target_user)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if action:
        events = events.filter(action=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if since is not None:
        events = events.filter(created_at__gte=since)
    return events
