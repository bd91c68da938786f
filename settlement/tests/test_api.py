"""The settlement API end to end: meters -> rollups -> run -> approval -> ledger postings."""

from decimal import Decimal

from billing.models import Account, Leg, Posting
from settlement.models import SettlementLine, SettlementRun

URL = "/api/v1/billing/settlements"


def draft(client, community, month="2025-03"):
    return client.post(URL, {"community": community.pk, "month": month}, format="json")


def amounts(body, kind):
    return [Decimal(line["amount"]) for line in body["lines"] if line["kind"] == kind]


def test_it_settles_a_month_from_the_rollups_to_the_cent(settled, as_user):
    referent = as_user(settled.world.a.referent)
    res = draft(referent, settled.community)
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["status"] == "draft" and body["data_quality"]["blocking"] == []
    assert body["data_quality"]["intervals"] == 743  # the local month, DST included
    # 743 h x 1.5 kWh shared = 1,114.5 kWh; 6 kWp in Emilia-Romagna, Pz 100:
    # TIP min(120, 80 + 80) + 10 (North) = 130 -> 144.885 -> 144.89; TRAS_E 10.57 -> 11.78
    assert amounts(body, "tip") == [Decimal("144.89")]
    assert amounts(body, "valorisation") == [Decimal("11.78")]
    assert amounts(body, "gse_advance") == [Decimal("156.67")]  # from the unrounded 156.665265
    # statute 55/40/5 of 156.67, consumers 1:2 by their withdrawal: largest remainder
    assert amounts(body, "producer_share") == [Decimal("86.17")]
    assert sorted(amounts(body, "consumer_share")) == [Decimal("20.89"), Decimal("41.78")]
    assert amounts(body, "fund") == [Decimal("7.83")]
    tip = next(line for line in body["lines"] if line["kind"] == "tip")
    assert tip["rule"].startswith("it_cer.tip@") and tip["detail"]["geo_zone"] == "north"
    assert len(body["inputs_hash"]) == 64 and len(body["result_hash"]) == 64


def test_drafting_again_changes_nothing(settled, as_user):
    referent = as_user(settled.world.a.referent)
    first = draft(referent, settled.community).json()
    again = draft(referent, settled.community)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["result_hash"] == first["result_hash"]
    assert SettlementRun.objects.count() == 1


def test_approve_and_post_move_the_money_once(settled, as_user):
    referent = as_user(settled.world.a.referent)
    run_id = draft(referent, settled.community).json()["id"]
    assert referent.post(f"{URL}/{run_id}/approve").json()["status"] == "approved"
    posted = referent.post(f"{URL}/{run_id}/post")
    assert posted.status_code == 200 and posted.json()["status"] == "posted"
    wallet = Account.objects.get(kind="member_wallet", user=settled.world.a.member)
    assert wallet.balance == Decimal("86.17") + Decimal("20.89")
    fund = Account.objects.get(kind="community_fund", community=settled.community)
    assert fund.balance == Decimal("7.83")
    receivable = Account.objects.get(kind="incentives_receivable", community=settled.community)
    assert receivable.balance == Decimal("-156.67")  # what GSE owes, the other side of every leg
    n = Posting.objects.count()
    assert referent.post(f"{URL}/{run_id}/post").status_code == 200
    assert Posting.objects.count() == n  # nothing posted twice
    for posting in Posting.objects.all():
        assert sum(leg.amount for leg in Leg.objects.filter(posting=posting)) == 0
    from audit.models import AuditEvent

    events = [(e.action, e.actor_id, e.object_id, e.detail.get("amount"))
              for e in AuditEvent.objects.filter(action__startswith="settlement.").order_by("pk")]
    who = settled.world.a.referent.pk
    assert events == [("settlement.approve", who, str(run_id), None),
                      ("settlement.post", who, str(run_id), "156.67")]  # posting twice: audited once


def test_a_posted_run_is_immutable_and_a_correction_posts_only_the_difference(settled, as_user):
    from iot.ingest.service import ingest
    from iot.rollups.service import rollup_run

    referent = as_user(settled.world.a.referent)
    run_id = draft(referent, settled.community).json()["id"]
    referent.post(f"{URL}/{run_id}/approve")
    referent.post(f"{URL}/{run_id}/post")
    assert draft(referent, settled.community).status_code == 200  # same inputs: the posted run
    # a meter correction: the consumer's register of the last hour read 1 kWh more
    from datetime import timedelta

    from settlement.tests.conftest import HOURS, START

    ingest(
        [
            {
                "device": "SETTLE-M2",
                "metric": "energy_import_kwh",
                "ts": START + timedelta(hours=HOURS - 1, minutes=30),
                "value": 1000.0 + HOURS + 1,
            }
        ],
        source="import",
    )
    rollup_run()
    res = draft(referent, settled.community)
    assert res.status_code == 201
    body = res.json()
    assert body["kind"] == "correction" and body["corrects"] == run_id
    # the hour's withdrawal 2.5 > injection 2.0: shared +0.5 kWh -> only differences are lines
    assert all(line["detail"]["corrects_run"] == run_id for line in body["lines"])
    assert sum(amounts(body, "gse_advance")) == Decimal("0.07")  # 0.5 kWh x 140.57 EUR/MWh
    paid = sum(
        Decimal(ln["amount"])
        for ln in body["lines"]
        if ln["kind"] in ("producer_share", "consumer_share", "fund")
    )
    assert paid == Decimal("0.07")
    assert SettlementLine.objects.filter(run_id=run_id).count() == 7  # the posted run untouched


def test_it_hides_other_communities(settled, as_user):
    referent = as_user(settled.world.a.referent)
    run_id = draft(referent, settled.community).json()["id"]
    outsider = as_user(settled.world.b.referent)
    assert outsider.get(f"{URL}/{run_id}").status_code == 404
    assert outsider.post(f"{URL}/{run_id}/approve").status_code == 404
    assert outsider.get(URL).json()["total"] == 0
    assert draft(outsider, settled.community).status_code == 404
    assert as_user(settled.world.b.member).get(f"{URL}/{run_id}").status_code == 404


def test_a_member_sees_only_their_lines_and_cannot_approve_or_draft(settled, as_user):
    referent = as_user(settled.world.a.referent)
    run_id = draft(referent, settled.community).json()["id"]
    member = as_user(settled.world.a.member)
    body = member.get(f"{URL}/{run_id}").json()
    assert {line["kind"] for line in body["lines"]} == {"producer_share", "consumer_share"}
    res = member.post(f"{URL}/{run_id}/approve")
    assert res.status_code == 403 and res.json()["error"] == "PermissionDenied"
    assert member.post(f"{URL}/{run_id}/post").status_code == 403
    assert draft(member, settled.community).status_code == 403
    assert SettlementRun.objects.get(pk=run_id).status == "draft"


def test_it_refuses_bad_input_and_changes_nothing(settled, as_user):
    referent = as_user(settled.world.a.referent)
    for payload in (
        {"community": settled.community.pk, "month": "2025-13"},
        {"community": settled.community.pk, "month": "2999-01"},
        {"month": "2025-03"},
    ):
        res = referent.post(URL, payload, format="json")
        assert res.status_code == 400 and res.json()["error"] == "ValidationError"
    assert SettlementRun.objects.count() == 0
    for query in ("status=nonsense", "month=2025-3x"):
        res = referent.get(f"{URL}?{query}")
        assert res.status_code == 400 and res.json()["error"] == "ValidationError", query
    run_id = draft(referent, settled.community).json()["id"]
    assert referent.post(f"{URL}/{run_id}/post").status_code == 409  # not approved yet
    res = referent.post(
        f"{URL}/{run_id}/gaps",
        {"metering_point": settled.consumer_point.pk, "decision": "estimate", "method": "magic"},
        format="json",
    )
    assert res.status_code == 400


def test_each_referent_is_told_once_that_a_run_awaits_approval(settled, as_user):
    from notifications.models import Notification

    referent = settled.world.a.referent
    referent.preferences = {**(referent.preferences or {}), "language": "it"}
    referent.save(update_fields=["preferences"])
    client = as_user(referent)
    run = draft(client, settled.community).json()
    draft(client, settled.community)  # the same inputs: the same run, no second notification
    told = Notification.objects.filter(kind="settlement_approval")
    assert [(n.user_id, n.data["run"]) for n in told] == [(referent.pk, run["id"])]
    assert told[0].title == (f"{settled.community.name}: "
                             "la liquidazione di 03/2025 attende la tua approvazione")
    assert told[0].url == f"/admin/settlement/settlementrun/{run['id']}/change/"
    # nobody outside the community's referents hears of it
    assert not Notification.objects.filter(kind="settlement_approval").exclude(user=referent).exists()
