"""GSE's yearly true-up through the API and the commands, against PostgreSQL: the statement
import, a positive and a negative true-up computed by hand, the excess premium December
could not pay reaching non-business consumers only, balanced postings, posting once, and
no wallet below zero.

The year 2025 of community A (`settled`): March from the meters (test_api's figures:
advance 156.67 = producer 86.17, consumers 20.89 (member A, business here) and 41.78 (the
other member), fund 7.83), December from the grid operator's curves: 744 h, the plant
injects 0.2 kWh and the other member withdraws 0.2 kWh each hour -> 148.8 kWh shared,
incentivised and injected; TIP 130 + TRAS_E 10.57 EUR/MWh -> advance 148.8 x 0.14057 =
20.916816 -> 20.92. December closes the year: incentivised / injected = (1,114.5 + 148.8) /
(1,486 + 148.8) = 0.77276 > 0.55 -> excess (0.77276 - 0.55) x (144.885 + 19.344) EUR =
36.5828 -> 36.58, more than the advance: 20.92 paid to the other member (the only
non-business consumer), 15.66 carried into the true-up.

Year's weights (the posted lines): producer 1,114.5 + 148.8 = 1,263.3 kWh; consumers member
A 371.5, other member 743 + 148.8 = 891.8 kWh (sum 1,263.3). Posted advances 156.67 +
20.92 = 177.59; excess already paid 20.92.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from billing.models import Account, Leg, Posting
from billing.verify import ledger_verify
from settlement.curves import curves_import
from settlement.models import GseYearlyStatement, SettlementRun
from settlement.tests.conftest import add_prices

URL = "/api/v1/billing/settlements"
GSE = "/api/v1/billing/gse-statements"
DEC_START = datetime(2025, 11, 30, 23, tzinfo=UTC)  # 1 Dec 2025 00:00 in Rome
HEADER = "year,configuration,incentivised_kwh,tip_eur,valorisation_eur,excess_premium_eur,advances_eur\n"


def statement(tip, val, excess, advances=""):
    return (HEADER + f"2025,CER-A-1,1263.3,{tip},{val},{excess},{advances}\n").encode()


def upload(client, community, body, name="gse-2025.csv"):
    return client.post(GSE, {"community": community.pk, "file": SimpleUploadedFile(name, body)},
                       format="multipart")


def run_month(client, community, month):
    res = client.post(URL, {"community": community.pk, "month": month}, format="json")
    assert res.status_code == 201, res.content
    run_id = res.json()["id"]
    assert client.post(f"{URL}/{run_id}/approve").status_code == 200
    posted = client.post(f"{URL}/{run_id}/post")
    assert posted.status_code == 200
    return posted.json()


def close_the_year(settled, referent):
    """March from the meters, December from official curves, both posted."""
    settled.world.a.membership.is_business = True
    settled.world.a.membership.save(update_fields=["is_business"])
    run_month(referent, settled.community, "2025-03")
    rows = ["pod,interval_start,withdrawal_kwh,injection_kwh"]
    for h in range(744):
        at = (DEC_START + timedelta(hours=h)).isoformat()
        rows += [f"IT001E00000001,{at},0,0.2", f"IT001E00000002,{at},0.2,"]
    assert curves_import(actor=None, data="\n".join(rows).encode())["imported"] == 1488
    add_prices(start=DEC_START, hours=744)
    return run_month(referent, settled.community, "2025-12")


def amounts(body, kind):
    return {
        (ln["membership"], ln["plant"]): Decimal(ln["amount"]) for ln in body["lines"] if ln["kind"] == kind
    }


def true_up(client, community, year=2025):
    return client.post(f"{URL}/true-ups", {"community": community.pk, "year": year}, format="json")


def balance(**lookup):
    return Account.objects.get(**lookup).balance


def members(settled):
    a = settled.world.a.membership
    return a, settled.community.memberships.exclude(pk=a.pk).get()


def assert_ledger_sound():
    assert ledger_verify().problems == []
    for posting in Posting.objects.all():
        assert sum(leg.amount for leg in Leg.objects.filter(posting=posting)) == 0
    assert not Account.objects.filter(kind="member_wallet", balance__lt=0).exists()


def test_december_carries_the_excess_its_advance_cannot_pay_and_the_true_up_pays_it(settled, as_user):
    referent = as_user(settled.world.a.referent)
    a, other = members(settled)
    december = close_the_year(settled, referent)
    assert december["totals"]["pool_eur"] == "20.92"
    assert december["totals"]["excess_reserved_eur"] == "20.92"
    assert december["totals"]["excess_carried_eur"] == "15.66"  # 36.58 - 20.92
    assert amounts(december, "excess_share") == {(other.pk, None): Decimal("20.92")}

    assert true_up(referent, settled.community).status_code == 409  # no statement yet
    # GSE: TIP 200.00 + valorisation 20.00 = 220.00, excess 37.00
    res = upload(referent, settled.community, statement("200.00", "20.00", "37.00", "177.59"))
    assert res.status_code == 200
    res = true_up(referent, settled.community)
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["kind"] == "true_up" and body["month"] == "2025-12" and body["data_quality"]["blocking"] == []
    # true-up 220.00 - 177.59 = 42.41; excess still owed 37.00 - 20.92 = 16.08, to the other
    # member only (member A is a business); the statute splits 42.41 - 16.08 = 26.33:
    # producer 55 % = 14.4815, consumers 40 % = 10.532 -> A 10.532 x 371.5 / 1263.3 = 3.0972,
    # other 7.4348, fund 1.3165; floors 14.48 + 3.09 + 7.43 + 1.31 = 26.31, the two cents to
    # the largest remainders (A .0072, fund .0065)
    assert amounts(body, "true_up") == {(None, None): Decimal("42.41")}
    assert amounts(body, "excess_share") == {(other.pk, None): Decimal("16.08")}
    assert amounts(body, "producer_share") == {(a.pk, settled.world.a.plant.pk): Decimal("14.48")}
    assert amounts(body, "consumer_share") == {
        (a.pk, None): Decimal("3.10"), (other.pk, None): Decimal("7.43")
    }
    assert amounts(body, "fund") == {(None, None): Decimal("1.32")}
    head = next(ln for ln in body["lines"] if ln["kind"] == "true_up")
    assert head["rule"].startswith("it_cer.true_up.true_up@")
    assert head["detail"]["advances_eur"] == "177.59" and head["detail"]["gse_total_eur"] == "220.00"
    assert head["detail"]["excess_carried_eur"] == "16.08"
    assert head["detail"]["excess_carried_from_december_eur"] == "15.66"
    excess_line = next(ln for ln in body["lines"] if ln["kind"] == "excess_share")
    assert excess_line["detail"]["excess_carried_eur"] == "16.08"
    assert excess_line["rule"].startswith("it_cer.true_up.excess_share@")

    # the list shows it with its kind
    listed = referent.get(f"{URL}?kind=true_up").json()["items"]
    assert [(r["id"], r["kind"]) for r in listed] == [(body["id"], "true_up")]
    assert referent.post(f"{URL}/{body['id']}/approve").status_code == 200
    member_a = settled.world.a.member
    wallets = {u: balance(kind="member_wallet", user=u) for u in (member_a, other.user)}
    assert referent.post(f"{URL}/{body['id']}/post").json()["status"] == "posted"
    n = Posting.objects.count()
    assert referent.post(f"{URL}/{body['id']}/post").status_code == 200
    assert Posting.objects.count() == n  # posting twice posts nothing twice
    # the other member: excess 16.08 + consumer 7.43; member A: producer 14.48 + consumer 3.10
    assert balance(kind="member_wallet", user=other.user) == wallets[other.user] + Decimal("23.51")
    assert balance(kind="member_wallet", user=member_a) == wallets[member_a] + Decimal("17.58")
    # over the year the non-business consumer received GSE's whole excess: 20.92 + 16.08
    from settlement.models import SettlementLine

    excess = SettlementLine.objects.filter(run__status="posted", kind="excess_share")
    assert {ln.membership_id for ln in excess} == {other.pk}
    assert sum(ln.amount for ln in excess) == Decimal("37.00")
    # GSE's receivable: everything paid out in the year equals GSE's yearly amount
    assert balance(kind="incentives_receivable", community=settled.community) == Decimal("-220.00")
    assert_ledger_sound()
    # same statement, same posted runs: drafting again returns the posted true-up
    again = true_up(referent, settled.community)
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_a_negative_true_up_never_drives_a_wallet_negative(settled, as_user):
    referent = as_user(settled.world.a.referent)
    a, other = members(settled)
    close_the_year(settled, referent)
    member_a = settled.world.a.member
    assert balance(kind="member_wallet", user=member_a) == Decimal("107.06")  # 86.17 + 20.89
    assert balance(kind="member_wallet", user=other.user) == Decimal("62.70")  # 41.78 + 20.92
    # GSE recognises nothing for the year (a configuration refused): it recovers 177.59;
    # nothing more owed as excess (0 - 20.92 < 0: what was paid stays paid). Split of
    # -177.59: producer 97.6745, consumers 71.036 -> A 20.8896, other 50.1464, fund 8.8795;
    # floors 97.67 + 20.88 + 50.14 + 8.87 = 177.56, three cents to A, fund, other.
    upload(referent, settled.community, statement("0", "0", "0"))
    body = true_up(referent, settled.community).json()
    assert amounts(body, "true_up") == {(None, None): Decimal("-177.59")}
    assert amounts(body, "excess_share") == {}
    assert amounts(body, "producer_share") == {(a.pk, settled.world.a.plant.pk): Decimal("-97.67")}
    assert amounts(body, "consumer_share") == {
        (a.pk, None): Decimal("-20.89"), (other.pk, None): Decimal("-50.15")
    }
    assert amounts(body, "fund") == {(None, None): Decimal("-8.88")}
    referent.post(f"{URL}/{body['id']}/approve")
    posted = referent.post(f"{URL}/{body['id']}/post").json()
    assert posted["status"] == "posted"
    # member A owes 97.67 + 20.89 = 118.56 but holds 107.06: the wallet gives it all, the
    # remaining 11.50 is booked on A's receivable (owed to the community), never below zero
    assert balance(kind="member_wallet", user=member_a) == Decimal("0.00")
    assert balance(kind="member_receivable", user=member_a) == Decimal("-11.50")
    assert balance(kind="member_wallet", user=other.user) == Decimal("12.55")  # 62.70 - 50.15
    assert not Account.objects.filter(kind="member_receivable", user=other.user).exists()
    (owed,) = posted["totals"]["receivables"]
    assert owed["user"] == member_a.pk and owed["receivable_eur"] == "11.50" and owed["debited_eur"] == "9.39"
    # GSE's side is reduced by the whole 177.59: balanced, and the year nets to zero
    assert balance(kind="incentives_receivable", community=settled.community) == Decimal("0.00")
    assert_ledger_sound()
    n = Posting.objects.count()
    referent.post(f"{URL}/{body['id']}/post")
    assert Posting.objects.count() == n


def test_the_true_up_waits_for_december(settled, as_user):
    referent = as_user(settled.world.a.referent)
    run_month(referent, settled.community, "2025-03")
    upload(referent, settled.community, statement("200.00", "20.00", "0"))
    body = true_up(referent, settled.community).json()
    assert any("December 2025" in b for b in body["data_quality"]["blocking"])
    res = referent.post(f"{URL}/{body['id']}/approve")
    assert res.status_code == 409 and res.json()["error"] == "DataQuality"
    assert true_up(referent, settled.community, year=2999).status_code == 400  # not over


def test_only_the_communitys_referents_draft_its_true_up(settled, as_user):
    world = settled.world
    upload(as_user(world.a.referent), settled.community, statement("200.00", "20.00", "0"))
    before = SettlementRun.objects.count()
    res = true_up(as_user(world.b.referent), settled.community)  # another community's referent
    assert res.status_code == 404, res.content
    res = true_up(as_user(world.a.member), settled.community)  # a member sees it, may not settle it
    assert res.status_code == 403, res.content
    assert SettlementRun.objects.count() == before


def test_the_statement_import_is_idempotent_and_a_bad_file_changes_nothing(world, as_user):
    referent, community = as_user(world.a.referent), world.a.community
    italian = HEADER.replace(",", ";") + "2025;CER-A-1;1263,3;6.600,00;466,80;330,00;7.012,55\n"
    good = HEADER + "2025,CER-A-1,60000,6600.00,466.80,330.00,7012.55\n2025,CER-A-2,10.5,1.30,0.11,0,\n"
    res = upload(referent, community, good.encode())
    assert res.status_code == 200, res.content
    assert res.json() == {"year": 2025, "configurations": 2, "created": 2, "updated": 0, "unchanged": 0,
                          "removed": 0}
    first = list(GseYearlyStatement.objects.order_by("configuration").values())
    assert first[0]["tip_eur"] == Decimal("6600.00") and first[1]["advances_eur"] is None
    again = upload(referent, community, good.encode()).json()
    assert again["unchanged"] == 2 and again["created"] == again["updated"] == 0
    assert list(GseYearlyStatement.objects.order_by("configuration").values()) == first
    for bad in (
        b"year,configuration\n2025,X\n",  # missing columns
        (HEADER + "2025,CER-A-1,60000,abc,466.80,330.00,\n").encode(),  # not a number
        (HEADER + "2025,CER-A-1,60000,6600.00,466.80,-1,\n").encode(),  # negative
        (HEADER + "2025,CER-A-1,1,1,1,1,\n2024,CER-A-2,1,1,1,1,\n").encode(),  # two years
        (HEADER + "2025,CER-A-1,1,1,1,1,\n2025,CER-A-1,1,1,1,1,\n").encode(),  # twice
        b"\xff\xfe",
    ):
        res = upload(referent, community, bad)
        assert res.status_code == 400 and res.json()["error"] == "ValidationError", bad
    assert list(GseYearlyStatement.objects.order_by("configuration").values()) == first
    # a corrected statement (Italian decimals, `;`) replaces the year's rows
    res = upload(referent, community, italian.encode()).json()
    assert (res["updated"], res["removed"]) == (1, 1)
    assert GseYearlyStatement.objects.get().incentivised_kwh == Decimal("1263.3")
    # an outsider is 404, a member 403, and nothing changes
    assert upload(as_user(world.b.referent), community, good.encode()).status_code == 404
    assert upload(as_user(world.a.member), community, good.encode()).status_code == 403
    assert as_user(world.b.referent).get(GSE).json()["total"] == 0
    assert GseYearlyStatement.objects.count() == 1
    assert referent.get(f"{GSE}?year=2025").json()["total"] == 1


def test_the_admin_imports_a_statement_for_managed_communities_only(client, world):
    from settlement.tests.test_admin import login

    good = (HEADER + "2025,CER-A-1,60000,6600.00,466.80,330.00,\n").encode()
    url = "/admin/settlement/gseyearlystatement/import/"
    login(client, world.b.referent)
    res = client.post(url, {"community": world.a.community.pk, "file": SimpleUploadedFile("g.csv", good)})
    assert res.status_code == 400 and not GseYearlyStatement.objects.exists()
    login(client, world.a.referent)
    junk = SimpleUploadedFile("g.csv", b"x,y\n1,2\n")
    bad = client.post(url, {"community": world.a.community.pk, "file": junk})
    assert bad.status_code == 400 and not GseYearlyStatement.objects.exists()
    res = client.post(url, {"community": world.a.community.pk, "file": SimpleUploadedFile("g.csv", good)})
    assert res.status_code == 200 and "1 created" in res.content.decode()
    assert client.get("/admin/settlement/gseyearlystatement/").status_code == 200


def test_the_commands_import_and_settle_the_true_up(settled, as_user, tmp_path):
    referent = as_user(settled.world.a.referent)
    close_the_year(settled, referent)
    path = tmp_path / "gse.csv"
    path.write_bytes(b"year;configuration\n2025;X\n")
    with pytest.raises(CommandError):
        call_command("gse_statement_import", str(path), "--community", settled.community.slug,
                     stdout=StringIO())
    assert not GseYearlyStatement.objects.exists()
    path.write_bytes(statement("200.00", "20.00", "37.00"))
    out = StringIO()
    call_command("gse_statement_import", str(path), "--community", settled.community.slug, stdout=out)
    assert '"created": 1' in out.getvalue()
    out = StringIO()
    call_command("settle", "--community", settled.community.slug, "--true-up", "2025", "--post", "--as",
                 settled.world.a.referent.email, stdout=out)
    assert '"kind": "true_up"' in out.getvalue() and '"status": "posted"' in out.getvalue()
    run = SettlementRun.objects.get(kind="true_up")
    assert run.posted_by == settled.world.a.referent
    assert date(2025, 12, 1) == run.period.month
