"""A person with data in every app (profile, membership, POD, plant, device and readings, a
scenario and its run, wallet postings, a payout, an invitation, emails, an admin log entry,
a dead letter), so export and erasure tests see everything the platform can hold."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

IDENTIFIERS = {
    "name": "Zelda Quartermain",
    "email": "zelda.quartermain@example.com",
    "fiscal_code": "QRTZLD80A41A944K",
    "address": "Via Ximenes 42, Bologna",
    "free_text": "xyzzy-balcony-note",
    "iban": "IT60X0542811101000000123456",
    "phone": "+393331234567",
    "push_endpoint": "zq-push-endpoint-4f2a",
}


@dataclass
class Person:
    user: object
    device: object
    readings: int
    ids: dict


def _posting_money(person, other, community):
    from billing import ledger
    from billing.models import EntryKind, PostingKind
    from billing.services import wallet_transfer, wallet_withdraw

    ledger.posting_create(
        legs=[ledger.LegSpec(ledger.account_clearing(provider="dev"), Decimal("-50.00"), EntryKind.OTHER),
              ledger.LegSpec(ledger.account_wallet(user=person), Decimal("50.00"), EntryKind.OTHER)],
        idempotency_key="test-topup-zelda", kind=PostingKind.TOPUP, reason="Top-up via dev",
        actor=person, community=community)
    wallet_transfer(buyer=person, seller=other, amount=Decimal("10.00"), idempotency_key="test-p2p-zelda",
                    actor=person, reason=f"{IDENTIFIERS['free_text']} from {IDENTIFIERS['name']}",
                    community=community)
    wallet_withdraw(actor=person, amount=Decimal("5.00"), iban=IDENTIFIERS["iban"])


def _later_apps(world, user, device):
    """Statements, notifications and the market hold the person too."""
    from datetime import date

    from communities.models import MeteringPoint
    from market.models import Offer
    from notifications.models import PushSubscription, UserSettings
    from notifications.services import notify
    from settlement.models import SettlementPeriod, SettlementRun
    from statements.models import Statement, StatementEmail

    community = world.a.community
    run = SettlementRun.objects.create(period=SettlementPeriod.objects.create(community=community,
                                                                              month=date(2025, 3, 1)),
                                       number=1, regime=community.regime)
    statement = Statement.objects.create(
        run=run, community=community, month=date(2025, 3, 1), membership=world.a.membership, user=user,
        number=f"C{community.pk}-2025-03-R1-U{user.pk}", total_eur=Decimal("12.34"), content_hash="0" * 64,
        data={"member": {"user_id": user.pk, "name": IDENTIFIERS["name"]}, "total": "12.34"})
    StatementEmail.objects.create(statement=statement, email=IDENTIFIERS["email"], message_id="<zq-1@test>")
    notify(user=user, kind="system", title="Hello", body=f"Dear {IDENTIFIERS['name']}, welcome.")
    UserSettings.objects.create(user=user, phone_e164=IDENTIFIERS["phone"])
    PushSubscription.objects.create(user=user, endpoint=f"https://fcm.googleapis.com/{IDENTIFIERS['push_endpoint']}",
                                    p256dh="k" * 87, auth="a" * 22)
    now = timezone.now()
    Offer.objects.create(community=community, host=user, price_eur_per_kwh=Decimal("0.2"),
                         metering_point=MeteringPoint.objects.get(code="IT001E99999999"),
                         valid_from=now, valid_to=now + timedelta(days=30), note=IDENTIFIERS["free_text"])


@pytest.fixture
def person(world) -> Person:
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    from accounts.services import password_reset_request
    from communities.models import MembershipInvitation, MeteringPoint
    from iot.ingest.service import ingest
    from iot.models import Alert
    from iot.testing.registry import make_device
    from simulation.models import Scenario, ScenarioMember, SimulationRun

    user = world.a.member
    user.full_name, user.email = IDENTIFIERS["name"], IDENTIFIERS["email"]
    user.fiscal_code, user.address = IDENTIFIERS["fiscal_code"], IDENTIFIERS["address"]
    user.preferences = {"note": IDENTIFIERS["free_text"]}
    user.save()
    plant = world.a.plant
    plant.name = f"Roof of {IDENTIFIERS['name']}"
    plant.save()
    MeteringPoint.objects.create(code="IT001E99999999", membership=world.a.membership,
                                 primary_substation="AC001E00001", meter_serial="ZQ-1")
    device, _secret = make_device("ZQ-INV-1", kind="meter", plant=plant, name=f"{IDENTIFIERS['name']} meter")
    now = timezone.now().replace(microsecond=0, second=0)
    readings = [{"device": "ZQ-INV-1", "metric": "power_w", "ts": (now - timedelta(minutes=i)).isoformat(),
                 "value": 100 + i} for i in range(12)]
    ingest(readings, source="http")
    ingest([{"device": "ZQ-INV-1", "metric": "power_w", "ts": now.isoformat(),
             "value": f"{IDENTIFIERS['name']} says hi"}], source="http")  # a dead letter
    Alert.objects.create(device=device, kind="offline", opened_at=now,
                         message=f"{IDENTIFIERS['name']} meter is offline")
    scenario = Scenario.objects.create(name=f"What if {IDENTIFIERS['name']} adds a battery",
                                       community=world.a.community, created_by=world.a.referent,
                                       start=now - timedelta(days=1), end=now)
    ScenarioMember.objects.create(scenario=scenario, key="zq", name=IDENTIFIERS["name"],
                                  membership=world.a.membership, annual_kwh=3000)
    SimulationRun.objects.create(scenario=scenario, created_by=world.a.referent, status="done",
                                 summary={"members": [{"key": "zq", "name": IDENTIFIERS["name"],
                                                       "self_consumed_kwh": 12.5}]})
    MembershipInvitation.objects.create(community=world.b.community, email=IDENTIFIERS["email"],
                                        token="t" * 64, invited_by=world.b.referent,
                                        expires_at=now + timedelta(days=3), terms={})
    password_reset_request(email=IDENTIFIERS["email"])
    LogEntry.objects.create(user_id=world.admin.pk, content_type=ContentType.objects.get_for_model(user),
                            object_id=str(user.pk), object_repr=str(user), action_flag=CHANGE,
                            change_message=f"Changed address of {IDENTIFIERS['name']}.")
    _posting_money(user, world.a.other_member, world.a.community)
    _later_apps(world, user, device)
    return Person(user=user, device=device, readings=12, ids=dict(IDENTIFIERS))
