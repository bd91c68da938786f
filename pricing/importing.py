"""Parsers of market price files: our CSV layout and GME's "MGP Prezzi" XML.

Both return `(rows, refused, ignored_columns)`: rows to upsert, refused rows with their
line numbers, columns the file has that we do not store. A file that cannot be read as a
whole (not UTF-8, not XML, no header, no records) raises `MalformedFile` and nothing is
imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from zoneinfo import ZoneInfo

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import sax as defused_sax

from core.exceptions import Invalid
from pricing.models import PriceZone

ITALY = ZoneInfo("Europe/Rome")
RESOLUTIONS = (15, 60)
ZONES = {z.value for z in PriceZone}
# GME column names that differ from ours; the others (GREC, SVIZ, COAC...) are not stored.
GME_COLUMNS = {"FRAN": "FR", "AUST": "AT"}
GME_KEYS = {"Data", "Ora", "Periodo", "Mercato"}
CSV_REQUIRED = ("zone", "interval_start", "price_eur_per_mwh")


class MalformedFile(Invalid):
    """The file cannot be read; nothing was imported."""


@dataclass(frozen=True)
class PriceRow:
    line: int
    zone: str
    start: datetime  # aware, UTC
    resolution_minutes: int
    price_eur_per_mwh: Decimal


@dataclass(frozen=True)
class Refused:
    line: int
    reason: str


def parse_decimal(text: str) -> Decimal:
    """`108.5`, `108,5` (Italian comma) or `1.080,5` -> Decimal; ValueError otherwise."""
    raw = (text or "").strip()
    if "," in raw and "." in raw and raw.rfind(".") > raw.rfind(","):
        raise ValueError(f"ambiguous decimal separators: {text!r}")
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite() or abs(value) >= Decimal("1000000"):
        raise ValueError(f"not a plausible price: {text!r}")
    return value.quantize(Decimal("0.000001"))


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFile(f"The file is not UTF-8 text (byte {exc.start}).") from None


def parse_csv(data: bytes) -> tuple[list[PriceRow], list[Refused], list[str]]:
    """`zone,interval_start,price_eur_per_mwh[,resolution]`, one row per interval;
    `interval_start` in ISO 8601 with its UTC offset; resolution 60 (default) or 15."""
    reader = csv.DictReader(io.StringIO(_text(data), newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise MalformedFile(f"The header lacks {', '.join(missing)} (expected "
                            "zone,interval_start,price_eur_per_mwh[,resolution]).",
                            details={"file": [f"missing columns: {', '.join(missing)}"]})
    reader.fieldnames = header
    ignored = [h for h in header if h not in (*CSV_REQUIRED, "resolution")]
    rows, refused = [], []
    for record in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue
        try:
            rows.append(_csv_row(record, line))
        except ValueError as exc:
            refused.append(Refused(line, str(exc)))
    return rows, refused, ignored


def _csv_row(record: dict, line: int) -> PriceRow:
    zone = (record.get("zone") or "").strip().upper()
    if zone not in ZONES:
        raise ValueError(f"unknown zone {zone!r}")
    try:
        start = datetime.fromisoformat((record.get("interval_start") or "").strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {record.get('interval_start')!r}") from None
    if start.tzinfo is None:
        raise ValueError("interval_start needs its UTC offset (e.g. +01:00 or Z)")
    resolution_text = (record.get("resolution") or "").strip() or "60"
    if resolution_text not in ("15", "60"):
        raise ValueError(f"resolution must be 15 or 60, not {resolution_text!r}")
    resolution = int(resolution_text)
    start = start.astimezone(UTC)
    if start.second or start.microsecond or start.minute % resolution:
        raise ValueError(f"interval_start is not on a {resolution}-minute boundary")
    return PriceRow(line, zone, start, resolution, parse_decimal(record.get("price_eur_per_mwh") or ""))


class _GmeHandler(ContentHandler):
    """Collects each `<Prezzi>` record as {child: text} with the line it starts on."""

    def __init__(self):
        super().__init__()
        self.records: list[tuple[int, dict]] = []
        self._record: dict | None = None
        self._field: str | None = None
        self._line = 0

    def startElement(self, name, attrs):  # noqa: N802 (SAX API)
        if name == "Prezzi":
            self._record, self._line = {}, self._locator.getLineNumber()
        elif self._record is not None:
            self._field = name
            self._record[name] = ""

    def characters(self, content):
        if self._record is not None and self._field:
            self._record[self._field] += content

    def endElement(self, name):  # noqa: N802 (SAX API)
        if name == "Prezzi" and self._record is not None:
            self.records.append((self._line, self._record))
            self._record = None
        self._field = None


def parse_gme_xml(data: bytes) -> tuple[list[PriceRow], list[Refused], list[str]]:
    """GME "MGP Prezzi": `<Prezzi><Data>YYYYMMDD</Data><Ora>n</Ora><PUN>..</PUN><NORD>..`,
    comma decimals; `Ora` counts the intervals of the Italian local day from 1 (24 hours,
    23 or 25 on DST days; 96 quarter hours, 92 or 100, for the 15-minute market)."""
    handler = _GmeHandler()
    # defusedxml refuses DTDs with entities (billion laughs) and external references.
    parser = defused_sax.make_parser()
    parser.setContentHandler(handler)
    try:
        parser.parse(io.BytesIO(data))
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise MalformedFile("XML entities and DTDs are not accepted.",
                            details={"file": ["DTD or entity declaration"]}) from None
    except SAXParseException as exc:
        raise MalformedFile(f"Not well-formed XML at line {exc.getLineNumber()}: {exc.getMessage()}.",
                            details={"file": [f"line {exc.getLineNumber()}: {exc.getMessage()}"]}) from None
    if not handler.records:
        raise MalformedFile("No <Prezzi> records in this XML file.")
    max_period: dict[str, int] = {}
    for _line, rec in handler.records:
        period = (rec.get("Ora") or rec.get("Periodo") or "").strip()
        if period.isdigit():
            day = rec.get("Data", "").strip()
            max_period[day] = max(max_period.get(day, 0), int(period))
    rows, refused, ignored = [], [], set()
    for line, rec in handler.records:
        try:
            day, start, resolution = _gme_interval(rec, max_period)
        except ValueError as exc:
            refused.append(Refused(line, str(exc)))
            continue
        for column, text in rec.items():
            if column in GME_KEYS:
                continue
            zone = GME_COLUMNS.get(column, column)
            if zone not in ZONES:
                ignored.add(column)
                continue
            if not text.strip():
                continue
            try:
                rows.append(PriceRow(line, zone, start, resolution, parse_decimal(text)))
            except ValueError as exc:
                refused.append(Refused(line, f"{column}: {exc}"))
    return rows, refused, sorted(ignored)


def _gme_interval(rec: dict, max_period: dict[str, int]) -> tuple[date, datetime, int]:
    day_text = (rec.get("Data") or "").strip()
    period_text = (rec.get("Ora") or rec.get("Periodo") or "").strip()
    try:
        day = datetime.strptime(day_text, "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"Data is not YYYYMMDD: {day_text!r}") from None
    if not period_text.isdigit():
        raise ValueError(f"Ora is not a number: {period_text!r}")
    period = int(period_text)
    resolution = 15 if max_period.get(day_text, 0) > 25 else 60
    midnight = datetime(day.year, day.month, day.day, tzinfo=ITALY).astimezone(UTC)
    next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), ITALY).astimezone(UTC)
    count = int((next_midnight - midnight).total_seconds() // 60 // resolution)
    if not 1 <= period <= count:
        raise ValueError(f"Ora {period} is outside 1..{count} on {day.isoformat()}")
    return day, midnight + timedelta(minutes=(period - 1) * resolution), resolution


def detect_format(filename: str, data: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith(".xml"):
        return "gme_xml"
    if name.endswith(".csv"):
        return "csv"
    return "gme_xml" if data.lstrip()[:1] == b"<" else "csv"


PARSERS = {"csv": parse_csv, "gme_xml": parse_gme_xml}
