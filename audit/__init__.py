"""Audit log of staff actions on people and money. `audit.record(...)` writes one row."""


def record(**kwargs):
    from audit.services import audit_record

    return audit_record(**kwargs)
