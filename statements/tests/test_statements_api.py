"""Statements through the API: one per member of a posted run, equal to the run's lines to
the cent, reproducible; PDF and CSV downloads; scoping (404 / 400)."""

import csv
import hashlib
import io
import json
from collections import defaultdict
from decimal import Decimal

from pypdf import PdfReader

from settlement.models import SettlementLine
from statements.models import Statement
from statements.services import statements_issue

URL = "/api/v1/billing/statements"


def _expected_totals(run) -> dict[int, Decimal]:
    """Per recipient user: the sum of their lines in the run, straight from the table."""
    out: dict[int, Decimal] = defaultdict(Decimal)
    for line in SettlementLine.objects.filter(run=run).select_related("membership"):
        user_id = line.user_id or (line.membership.user_id if line.membership_id else None)
        if user_id:
            out[user_id] += line.amount
    return out


def test_a_posted_run_gives_one_statement_per_member_equal_to_its_lines(posted):
    expected = _expected_totals(posted.run)
    statements = list(Statement.objects.filter(run=posted.run))
    assert {s.user_id for s in statements} == set(expected) == {
        posted.world.a.member.pk, posted.world.a.other_member.pk}
    for s in statements:
        assert s.total_eur == expected[s.user_id] != 0
        assert Decimal(s.data["totals"]["amount_eur"]) == s.total_eur
        assert sum(Decimal(x["amount_eur"]) for x in s.data["lines"]) == s.total_eur
        assert all(x["rule"] for x in s.data["lines"])  # every line names its rule
        raw = json.dumps(s.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert s.content_hash == hashlib.sha256(raw.encode()).hexdigest()
    consumer = next(s for s in statements if s.user_id == posted.world.a.other_member.pk)
    # one kWh an hour withdrawn, all of it covered by the producer's 2 kWh: allocated = 743 h
    assert Decimal(consumer.data["energy"]["allocated_kwh"]) == Decimal("743.000")
    producer = next(s for s in statements if s.user_id == posted.world.a.member.pk)
    # the run's own inputs: producer 2 kWh out and 0.5 kWh in an hour, consumer 1 kWh in
    assert producer.data["energy"]["injected_kwh"] == "1486.000"
    assert producer.data["energy"]["withdrawn_kwh"] == "371.500"
    assert consumer.data["energy"]["withdrawn_kwh"] == "743.000"
    assert consumer.data["energy"]["injected_kwh"] == "0.000"


def test_issuing_again_creates_nothing_and_keeps_the_hash(posted):
    before = dict(Statement.objects.values_list("pk", "content_hash"))
    assert statements_issue(run=posted.run) == []
    assert dict(Statement.objects.values_list("pk", "content_hash")) == before


def test_a_member_sees_only_their_own(posted, as_user):
    a = posted.world.a
    mine = Statement.objects.get(user=a.member)
    theirs = Statement.objects.get(user=a.other_member)
    body = as_user(a.member).get(URL).json()
    assert [s["id"] for s in body["items"]] == [mine.pk]
    assert as_user(a.member).get(f"{URL}/{mine.pk}").json()["data"]["number"] == mine.number
    for path in ("", "/pdf", "/csv"):
        res = as_user(a.member).get(f"{URL}/{theirs.pk}{path}")
        assert res.status_code == 404, path
        assert res.json()["error"] == "NotFound"


def test_it_hides_other_communities(posted, as_user):
    b = posted.world.b
    statement = Statement.objects.filter(run=posted.run).first()
    for user in (b.member, b.referent, b.vendor):
        client = as_user(user)
        assert client.get(URL).json()["items"] == []
        assert client.get(f"{URL}/{statement.pk}").status_code == 404
        assert client.get(f"{URL}/{statement.pk}/pdf").status_code == 404


def test_a_referent_filters_by_member_within_their_scope(posted, as_user):
    a, b = posted.world.a, posted.world.b
    referent = as_user(a.referent)
    assert len(referent.get(URL).json()["items"]) == 2
    body = referent.get(URL, {"member": a.membership.pk}).json()
    assert [s["member"] for s in body["items"]] == [a.membership.pk]
    res = referent.get(URL, {"member": b.membership.pk})  # another tenant's membership
    assert res.status_code == 400
    assert res.json()["details"] == {"member": ["invalid_choice"]}
    assert referent.get(URL, {"month": "March"}).status_code == 400
    assert len(referent.get(URL, {"month": "2025-03"}).json()["items"]) == 2
    assert referent.get(URL, {"month": "2025-04"}).json()["items"] == []


def test_the_pdf_is_a_real_pdf_holding_the_totals_and_is_reproducible(posted, as_user):
    a = posted.world.a
    statement = Statement.objects.get(user=a.other_member)
    client = as_user(a.other_member)
    res = client.get(f"{URL}/{statement.pk}/pdf", HTTP_ACCEPT_LANGUAGE="en")
    assert res.status_code == 200 and res["Content-Type"] == "application/pdf"
    assert res.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(res.content)).pages)
    total = f"{statement.total_eur:,.2f}"
    assert total in text and statement.number in text and "743.00" in text
    assert client.get(f"{URL}/{statement.pk}/pdf", HTTP_ACCEPT_LANGUAGE="en").content == res.content


def test_the_pdf_follows_the_language(posted, as_user):
    a = posted.world.a
    statement = Statement.objects.get(user=a.other_member)
    a.other_member.preferences = {**(a.other_member.preferences or {}), "language": "it"}
    a.other_member.save(update_fields=["preferences"])
    res = as_user(a.other_member).get(f"{URL}/{statement.pk}/pdf", HTTP_ACCEPT_LANGUAGE="it")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(res.content)).pages)
    assert f"{statement.total_eur:.2f}".replace(".", ",") in text
    assert "743,00" in text and "marzo 2025" in text.lower()


def test_the_csv_lists_every_line_and_the_total_formula_safe(posted, as_user):
    a = posted.world.a
    statement = Statement.objects.get(user=a.member)
    res = as_user(a.member).get(f"{URL}/{statement.pk}/csv")
    assert res.status_code == 200 and res["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(res.content.decode())))
    lines = [r for r in rows if r["section"] == "line"]
    assert len(lines) == len(statement.data["lines"])
    assert sum(Decimal(r["amount_eur"]) for r in lines) == statement.total_eur
    assert [Decimal(r["amount_eur"]) for r in rows if r["section"] == "total"] == [statement.total_eur]
    assert {r["kind"] for r in rows if r["section"] == "energy"} == {
        "withdrawn_kwh", "injected_kwh", "shared_kwh", "allocated_kwh"}


def test_text_that_looks_like_a_formula_is_neutralised(world, as_user):
    from settlement.tests.conftest import make_settled
    from statements.tests.conftest import post_month

    world.a.plant.name = '=HYPERLINK("http://evil.example","x")'
    world.a.plant.save(update_fields=["name"])
    settled = make_settled(world)
    post_month(world, as_user, settled)
    statement = Statement.objects.get(user=world.a.member)
    text = as_user(world.a.member).get(f"{URL}/{statement.pk}/csv").content.decode()
    plants = [r["plant"] for r in csv.DictReader(io.StringIO(text)) if r["plant"]]
    assert plants and all(p.startswith("'=") for p in plants)


def test_a_correcting_run_gives_correcting_statements_of_the_difference(posted, as_user):
    from datetime import timedelta

    from iot.ingest.service import ingest
    from iot.rollups.service import rollup_run
    from settlement.tests.conftest import HOURS, START
    from statements.tests.conftest import SETTLEMENTS

    a = posted.world.a
    # a meter correction: the consumer's register of the last hour read 1 kWh more
    ingest([{"device": "SETTLE-M2", "metric": "energy_import_kwh",
             "ts": START + timedelta(hours=HOURS - 1, minutes=30), "value": 1000.0 + HOURS + 1}],
           source="import")
    rollup_run()
    referent = as_user(a.referent)
    res = referent.post(SETTLEMENTS, {"community": a.community.pk, "month": "2025-03"}, format="json")
    correction = res.json()
    assert correction["kind"] == "correction"
    assert referent.post(f"{SETTLEMENTS}/{correction['id']}/approve").status_code == 200
    assert referent.post(f"{SETTLEMENTS}/{correction['id']}/post").status_code == 200
    expected = _expected_totals(correction["id"])
    fixes = Statement.objects.filter(run_id=correction["id"])
    assert {s.user_id for s in fixes} == set(expected)
    for s in fixes:
        original = Statement.objects.get(run=posted.run, user_id=s.user_id)
        assert s.kind == "correction" and s.data["corrects"] == original.number
        assert s.total_eur == expected[s.user_id]
    # the member's list holds the original and its correction
    assert len(as_user(a.other_member).get(URL).json()["items"]) == 2


def test_a_plant_investor_gets_a_statement_of_their_share(world, as_user):
    from conftest import make_user
    from plants.models import PlantShare
    from settlement.tests.conftest import make_settled
    from statements.tests.conftest import post_month

    investor = make_user("investor@example.com", full_name="Investor")
    PlantShare.objects.create(plant=world.a.plant, user=investor, pct=Decimal("25"))
    run = post_month(world, as_user, make_settled(world))
    statement = Statement.objects.get(run=run, user=investor)
    assert statement.membership is None and statement.data["member"]["member_type"] == "investor"
    assert [x["kind"] for x in statement.data["lines"]] == ["producer_share"]
    assert statement.total_eur == _expected_totals(run)[investor.pk] > 0
    body = as_user(investor).get(URL).json()
    assert [s["id"] for s in body["items"]] == [statement.pk]
    owner = Statement.objects.get(run=run, user=world.a.member)
    owner_share = sum(Decimal(x["amount_eur"]) for x in owner.data["lines"] if x["kind"] == "producer_share")
    # the investor takes a quarter of the plant's producer part (largest remainder: to the cent)
    assert abs(statement.total_eur * 3 - owner_share) <= Decimal("0.03")


def test_the_pdf_prints_names_beyond_latin_1(world, as_user):
    from settlement.tests.conftest import make_settled
    from statements.tests.conftest import post_month

    world.a.other_member.full_name = "Łukasz Ștefănescu Ζωή"
    world.a.other_member.save(update_fields=["full_name"])
    post_month(world, as_user, make_settled(world))
    statement = Statement.objects.get(user=world.a.other_member)
    res = as_user(world.a.other_member).get(f"{URL}/{statement.pk}/pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(res.content)).pages)
    assert "Łukasz Ștefănescu Ζωή" in text


def test_a_member_without_lines_gets_a_statement_of_zero(world, as_user):
    from datetime import date

    from communities.models import Membership
    from conftest import make_user
    from settlement.tests.conftest import make_settled
    from statements.tests.conftest import post_month

    settled = make_settled(world)
    newcomer = make_user("newcomer@example.com", full_name="Newcomer")
    Membership.objects.create(user=newcomer, community=world.a.community, joined_at=date(2025, 3, 20))
    later = make_user("later@example.com", full_name="Later")
    Membership.objects.create(user=later, community=world.a.community, joined_at=date(2025, 4, 1))
    run = post_month(world, as_user, settled)
    statement = Statement.objects.get(run=run, user=newcomer)
    assert statement.total_eur == 0 and statement.data["lines"] == []
    assert not Statement.objects.filter(run=run, user=later).exists()  # joined after the month
    assert statement.email.email == "newcomer@example.com"


def test_each_member_is_told_in_their_notification_centre_once(posted, as_user):
    """statement_ready (issue 12): one in-app notification per statement, linking to it; the
    email is the statement's own (with its PDF), so the notification sends no second one."""
    a = posted.world.a
    mine = Statement.objects.get(user=a.member)
    items = as_user(a.member).get("/api/v1/notifications").json()["items"]
    ready = [n for n in items if n["kind"] == "statement_ready"]
    assert len(ready) == 1 and ready[0]["url"] == f"/statements/{mine.pk}/"
    assert str(mine.total_eur) in ready[0]["body"]
    statements_issue(run=posted.run)  # issuing again tells nobody again
    items = as_user(a.member).get("/api/v1/notifications").json()["items"]
    assert len([n for n in items if n["kind"] == "statement_ready"]) == 1
    from notifications.models import Delivery

    assert not Delivery.objects.filter(notification__kind="statement_ready", channel="email").exists()
