"""`manage.py prices_import`: CSV and GME XML, idempotent upsert, gaps, refused rows."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from pricing.models import MarketPrice

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
GME = SAMPLES / "MGP_Prezzi_20250329_20250330.xml"


def run(*paths, **opts) -> list[dict]:
    out = StringIO()
    call_command("prices_import", *map(str, paths), "--json", stdout=out, stderr=StringIO(), **opts)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def write(tmp_path, name, text) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_it_imports_the_gme_xml_with_comma_decimals_and_a_23_hour_dst_day():
    [report] = run(GME)
    assert report["format"] == "gme_xml" and report["refused"] == [] and report["gaps"] == []
    assert report["ignored_columns"] == ["GREC"]
    # 24 + 23 hours for PUN, NORD and CSUD
    assert report["created"] == 3 * 47 == MarketPrice.objects.count()
    nord = MarketPrice.objects.filter(market_zone="NORD", resolution_minutes=60)
    # Ora 1 of 29 March is 00:00 CET = 23:00 UTC the day before.
    first = nord.order_by("interval_start").first()
    assert first.interval_start == datetime(2025, 3, 28, 23, tzinfo=UTC)
    assert first.price_eur_per_mwh == Decimal("108.500000") and first.source == "gme_xml"
    # 30 March has 23 hours: 23:00 UTC on the 29th .. 21:00 UTC on the 30th, no hole at 02:00.
    day = [p.interval_start for p in nord.filter(interval_start__gte=datetime(2025, 3, 29, 23, tzinfo=UTC))]
    assert len(day) == 23 and max(day) == datetime(2025, 3, 30, 21, tzinfo=UTC)


def test_importing_twice_changes_nothing_and_a_changed_price_is_updated(tmp_path):
    run(GME)
    def snapshot():
        return list(MarketPrice.objects.order_by("pk").values_list("pk", "price_eur_per_mwh", "updated_at"))

    before = snapshot()
    [again] = run(GME)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 141)
    assert snapshot() == before
    text = GME.read_text().replace("<NORD>108,500000</NORD>", "<NORD>99,5</NORD>", 1)
    changed = write(tmp_path, "fix.xml", text)
    [fixed] = run(changed)
    assert (fixed["created"], fixed["updated"], fixed["unchanged"]) == (0, 1, 140)
    price = MarketPrice.objects.get(market_zone="NORD", interval_start=datetime(2025, 3, 28, 23, tzinfo=UTC))
    assert price.price_eur_per_mwh == Decimal("99.500000")


def test_it_reports_gaps_and_refused_rows_with_line_numbers(tmp_path):
    path = write(tmp_path, "p.csv", "\n".join([
        "zone,interval_start,price_eur_per_mwh,resolution",
        "NORD,2025-01-15T00:00:00+01:00,100.5,60",
        "NORD,2025-01-15T01:00:00+01:00,101,60",
        "NORD,2025-01-15T04:00:00+01:00,104,60",   # 02:00 and 03:00 missing
        "NORD,2025-01-15T05:00:00,105,60",          # line 5: no offset
        "ATLANTIS,2025-01-15T05:00:00Z,1,60",        # line 6: unknown zone
        "NORD,2025-01-15T05:30:00Z,1,60",            # line 7: not on the hour
        "NORD,2025-01-15T05:00:00Z,abc,60",          # line 8: not a number
        "NORD,2025-01-15T04:00:00Z,106,60",
        "NORD,2025-01-15T06:15:00Z,50,15",
    ]) + "\n")
    [report] = run(path)
    assert [r["line"] for r in report["refused"]] == [5, 6, 7, 8]
    assert "offset" in report["refused"][0]["reason"] and "ATLANTIS" in report["refused"][1]["reason"]
    assert report["created"] == 5
    assert report["gaps"] == [{"zone": "NORD", "resolution_minutes": 60, "start": "2025-01-15T01:00:00+00:00",
                               "end": "2025-01-15T03:00:00+00:00", "missing": 2}]
    # filling the gap later closes it
    fill = write(tmp_path, "fill.csv", "zone,interval_start,price_eur_per_mwh\n"
                 "NORD,2025-01-15T01:00:00Z,102\nNORD,2025-01-15T02:00:00Z,103\n")
    [report] = run(fill)
    assert report["gaps"] == [] and report["created"] == 2


def test_a_malformed_file_imports_nothing(tmp_path):
    broken = write(tmp_path, "broken.xml", GME.read_text()[:5000])  # cut mid-file
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("prices_import", str(broken), stdout=StringIO(), stderr=err)
    assert "Not well-formed XML" in err.getvalue() and MarketPrice.objects.count() == 0
    no_header = write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(CommandError):
        call_command("prices_import", str(no_header), stdout=StringIO(), stderr=StringIO())
    assert MarketPrice.objects.count() == 0


def test_it_refuses_an_xml_bomb(tmp_path):
    bomb = write(tmp_path, "bomb.xml", '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
                 '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                 "<NewDataSet><Prezzi><Data>20250101</Data><Ora>1</Ora><PUN>&b;</PUN></Prezzi></NewDataSet>")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("prices_import", str(bomb), stdout=StringIO(), stderr=err)
    assert "entities" in err.getvalue() and MarketPrice.objects.count() == 0


def _quarter_day_xml(day: str, quarters: int) -> str:
    rows = "".join(f"<Prezzi><Data>{day}</Data><Ora>{q}</Ora><PUN>{100 + q},25</PUN><NORD>{90 + q},5</NORD>"
                   "</Prezzi>" for q in range(1, quarters + 1))
    return f"<NewDataSet>{rows}</NewDataSet>"


def test_it_imports_a_15_minute_gme_day_and_hourly_reads_average_the_quarters(tmp_path):
    from pricing.selectors import zonal_prices

    [report] = run(write(tmp_path, "q.xml", _quarter_day_xml("20251105", 96)))
    assert report["created"] == 2 * 96 and report["refused"] == []
    q = MarketPrice.objects.filter(market_zone="NORD", resolution_minutes=15).order_by("interval_start")
    assert q.first().interval_start == datetime(2025, 11, 4, 23, tzinfo=UTC)
    assert q.last().interval_start == datetime(2025, 11, 5, 22, 45, tzinfo=UTC)
    points = zonal_prices(market_zone="NORD", start=datetime(2025, 11, 4, 23, tzinfo=UTC),
                          end=datetime(2025, 11, 5, 1, tzinfo=UTC))
    # hour 1 = quarters 1..4: 91.5, 92.5, 93.5, 94.5
    assert [(p.price_eur_per_mwh, p.missing) for p in points] == [
        (Decimal("93.000000"), False), (Decimal("97.000000"), False)]
    # a 100-quarter day (25 hours, end of DST) accepts Ora 97..100; 101 is refused
    [report] = run(write(tmp_path, "q2.xml", _quarter_day_xml("20251026", 100)))
    assert report["created"] == 200 and report["refused"] == []
    [report] = run(write(tmp_path, "q3.xml", _quarter_day_xml("20251027", 97)))
    assert [r["reason"] for r in report["refused"]] == ["Ora 97 is outside 1..96 on 2025-10-27"]


def test_zonal_prices_marks_missing_intervals():
    from pricing.selectors import zonal_prices

    run(GME)
    points = zonal_prices(market_zone="NORD", start=datetime(2025, 3, 30, 20, tzinfo=UTC),
                          end=datetime(2025, 3, 30, 23, tzinfo=UTC))
    assert [p.missing for p in points] == [False, False, True]
    assert points[2].price_eur_per_mwh is None and points[2].start == datetime(2025, 3, 30, 22, tzinfo=UTC)
    quarters = zonal_prices(market_zone="NORD", start=datetime(2025, 3, 30, 21, tzinfo=UTC),
                            end=datetime(2025, 3, 30, 22, tzinfo=UTC), resolution_minutes=15)
    assert len(quarters) == 4 and len({p.price_eur_per_mwh for p in quarters}) == 1
