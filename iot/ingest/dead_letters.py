"""The dead-letter table: every refused reading or payload is kept with its reason."""

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from core.metrics import count_dead_lettered
from iot.models import DeadLetter, Device


@dataclass
class Refusal:
    """One refused item of an ingest batch: its index, the item as sent, why, and the device
    when it is known."""

    index: int
    item: Any
    reason: str
    device: Device | None


def clean_text(text: str, limit: int) -> str:
    """PostgreSQL text cannot hold NUL: keep it visible as an escape instead."""
    return text.replace("\x00", "\\x00")[:limit]


def raw_json(item) -> str:
    """The item as JSON text for the dead letter; never raises, whatever the item (a cyclic
    or very deeply nested one is kept as a note instead)."""
    try:
        return clean_text(json.dumps(item, default=str), 20000)
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return clean_text(repr(item), 20000)
    except Exception:
        return f"<unprintable {type(item).__name__}>"


def _claimed_serial(refusal: Refusal) -> str:
    if refusal.device is not None:
        return refusal.device.serial
    if isinstance(refusal.item, dict):
        return str(refusal.item.get("device") or "")[:64]
    return ""


def refusals_record(refusals: list[Refusal], source: str, context: dict) -> None:
    now = timezone.now()
    topics = context.get("topics")  # one per item (a bridge batch spans topics), or one for all

    def topic(index: int) -> str:
        return clean_text(str(topics[index] if topics else context.get("topic", "")), 300)

    DeadLetter.objects.bulk_create(
        [
            DeadLetter(device=r.device, serial=clean_text(_claimed_serial(r), 64), source=source,
                       topic=topic(r.index), raw=raw_json(r.item), reason=clean_text(r.reason, 500),
                       received_at=now)
            for r in refusals
        ],
        batch_size=1000,
    )


def _raw_text(raw) -> str:
    if isinstance(raw, bytes):
        return clean_text(raw.decode("utf-8", errors="backslashreplace"), 20000)
    if isinstance(raw, str):
        return clean_text(raw, 20000)
    return raw_json(raw)


def dead_letters_record(entries: list[dict], *, source: str) -> int:
    """Keep refused payloads that never reached `ingest` (a bridge's malformed message).
    Each entry: `raw` (bytes, str or a decoded object), `reason`, optional `serial`, `topic`."""
    serials = {e.get("serial") for e in entries if e.get("serial")}
    devices = {d.serial: d for d in Device.objects.filter(serial__in=serials)}
    now = timezone.now()
    count_dead_lettered(source, len(entries))  # Prometheus (ingest counts its own refusals)
    DeadLetter.objects.bulk_create([
        DeadLetter(device=devices.get(e.get("serial") or ""),
                   serial=clean_text(str(e.get("serial") or ""), 64), source=source,
                   topic=clean_text(str(e.get("topic") or ""), 300), raw=_raw_text(e.get("raw")),
                   reason=clean_text(str(e["reason"]), 500), received_at=now)
        for e in entries
    ])
    return len(entries)


def dead_letters_purge(*, older_than_days: int | None = None, chunk: int = 10_000) -> int:
    """Delete dead letters received more than `older_than_days` (default
    IOT_DEAD_LETTER_RETENTION_DAYS) ago, in chunks (short locks); returns how many. Run daily
    by beat; a retention of 0 or less keeps everything."""
    days = settings.IOT_DEAD_LETTER_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        old = DeadLetter.objects.filter(received_at__lt=cutoff).order_by()
        ids = list(old.values_list("pk", flat=True)[:chunk])
        if not ids:
            return deleted
        deleted += DeadLetter.objects.filter(pk__in=ids).delete()[0]
