"""`audit.record(...)`: the one way to write the audit log (other apps call it).

Call it inside the transaction of the change it records, so both commit or neither does.
"""

from __future__ import annotations

from core.logging import request_id_var


def _label(obj) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


def audit_record(*, actor, action: str, obj=None, target_user=None, detail: dict | None = None,
                 object_type: str = "", object_id: str | int = ""):
    """Appends one audit row.

    `actor`: who acted (a User, or None for the system; an API key's effective user is its
    creator). `obj`: the object acted on (or `object_type`/`object_id`). `target_user`: the
    person concerned. `detail`: a small JSON dict of ids, amounts and field *names* - never
    a name, email or free text (the row outlives an erasure).
    """
    from audit.models import AuditEvent

    obj_type, obj_id = _label(obj)
    rid = request_id_var.get()
    return AuditEvent.objects.create(
        actor_id=getattr(actor, "pk", None), action=action,
        object_type=object_type or obj_type, object_id=str(object_id or obj_id),
        target_user_id=getattr(target_user, "pk", target_user),
        request_id="" if rid == "-" else rid[:64], detail=detail or {},
    )
