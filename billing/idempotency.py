"""`Idempotency-Key` on POSTs: a retry with the same key answers the first answer and does
nothing else; the same key with a different body is a 422.

The record is inserted first (unique on user, endpoint, key): a concurrent duplicate waits
on the unique index until the first commits, then reads its answer.
"""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from billing.models import IdempotentRequest
from core.exceptions import Conflict, DomainError

MAX_KEY = 200


class KeyReused(DomainError):
    """This Idempotency-Key was used with a different request body."""

    status_code = 422
    error = "IdempotencyKeyReused"


def request_hash(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_begin(*, user, scope: str, key: str, data) -> tuple[IdempotentRequest, bool]:
    """(record, is_new). Call inside a transaction. Raises `KeyReused` or `Conflict`."""
    if len(key) > MAX_KEY:
        from core.exceptions import Invalid

        raise Invalid(gettext("Idempotency-Key: at most %(max)s characters.") % {"max": MAX_KEY})
    digest = request_hash(data)
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                user=user, scope=scope, key=key, request_hash=digest
            ), True
    except IntegrityError:
        record = IdempotentRequest.objects.get(user=user, scope=scope, key=key)
    if record.request_hash != digest:
        raise KeyReused()
    if record.status_code is None:
        raise Conflict(gettext("A request with this Idempotency-Key is still in progress."))
    return record, False


def idempotency_finish(record: IdempotentRequest | None, status_code: int, body) -> None:
    if record is None:
        return
    record.status_code = status_code
    record.response = json.loads(json.dumps(body, default=str))
    record.save(update_fields=["status_code", "response"])
