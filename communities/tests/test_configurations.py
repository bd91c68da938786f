from datetime import date

import pytest
from django.db import IntegrityError, transaction

from communities.models import Configuration, RegimeParameters
from communities.regime_sets import regime_parameters_ensure


@pytest.fixture(autouse=True)
def regime_sets(db):
    """The sets the data migration seeds (a transactional test elsewhere may have flushed them)."""
    regime_parameters_ensure()


URL = "/api/v1/configurations"


def test_it_seeds_the_regime_parameter_sets(db):
    assert regime_parameters_ensure() == 5  # idempotent: the fixture already ran it
    assert RegimeParameters.objects.count() == 5
    cer = RegimeParameters.objects.get(regime="it_cer", version="2024")
    bands = cer.params["tip_bands"]
    assert [(b["base_eur_per_mwh"], b["cap_eur_per_mwh"]) for b in bands] == [(80, 120), (70, 110), (60, 100)]
    assert cer.params["geo_correction_eur_per_mwh"]["north"] == 10
    assert cer.params["geo_correction_after_cap"] is True
    assert cer.params["excess_threshold"] == 0.55
    assert cer.params["cu_af_eur_per_mwh"]["total"] == pytest.approx(11.22)
    assert RegimeParameters.objects.get(regime="at_eeg").params["grid_fee_reduction"] == {
        "local": {"6": 0.57, "7": 0.57},
        "regional": {"5": 0.64, "7": 0.28},
    }
    assert {"it_cer", "it_auc", "fr_acc", "at_eeg", "p2p"} <= set(
        RegimeParameters.objects.values_list("regime", flat=True)
    )
    assert all(p.source for p in RegimeParameters.objects.all())


def test_it_creates_a_configuration_with_the_regime_parameters_in_force(world, as_user):
    resp = as_user(world.a.referent).post(
        URL,
        {
            "community": world.a.community.pk,
            "name": "2025 rules",
            "valid_from": "2025-01-01",
        },
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["regime_parameters_detail"]["version"] == "2024"
    assert body["producers_pct"] == "55.00"


def test_it_answers_400_on_an_overlapping_active_configuration(world, as_user):
    client = as_user(world.a.referent)
    first = client.post(
        URL,
        {
            "community": world.a.community.pk,
            "name": "A",
            "valid_from": "2025-01-01",
            "valid_to": "2026-01-01",
        },
        format="json",
    )
    assert first.status_code == 201
    resp = client.post(
        URL, {"community": world.a.community.pk, "name": "B", "valid_from": "2025-06-01"}, format="json"
    )
    assert resp.status_code == 400
    assert "valid_from" in resp.json()["details"]
    assert Configuration.objects.filter(community=world.a.community).count() == 1
    # Adjacent ranges ([) semantics) and draft configurations are fine.
    assert (
        client.post(
            URL, {"community": world.a.community.pk, "name": "C", "valid_from": "2026-01-01"}, format="json"
        ).status_code
        == 201
    )
    assert (
        client.post(
            URL,
            {"community": world.a.community.pk, "name": "D", "valid_from": "2025-03-01", "status": "draft"},
            format="json",
        ).status_code
        == 201
    )
    # Another community is independent.
    assert (
        as_user(world.b.referent)
        .post(
            URL, {"community": world.b.community.pk, "name": "B1", "valid_from": "2025-06-01"}, format="json"
        )
        .status_code
        == 201
    )


def test_the_database_enforces_one_active_configuration(world):
    Configuration.objects.create(community=world.a.community, name="A", valid_from=date(2025, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Configuration.objects.create(community=world.a.community, name="B", valid_from=date(2030, 1, 1))


def test_it_requires_the_statute_split_to_add_up_to_100(world, as_user):
    resp = as_user(world.a.referent).post(
        URL,
        {
            "community": world.a.community.pk,
            "name": "Bad",
            "valid_from": "2025-01-01",
            "producers_pct": "60",
            "consumers_pct": "40",
            "fund_pct": "5",
        },
        format="json",
    )
    assert resp.status_code == 400
    assert "fund_pct" in resp.json()["details"]


def test_it_checks_static_shares(world, as_user):
    client = as_user(world.a.referent)
    base = {
        "community": world.a.community.pk,
        "name": "S",
        "valid_from": "2025-01-01",
        "allocation_key": "static",
    }
    assert client.post(URL, base, format="json").status_code == 400
    bad = client.post(URL, {**base, "static_shares": {str(world.b.membership.pk): "0.5"}}, format="json")
    assert bad.status_code == 400 and "static_shares" in bad.json()["details"]
    over = client.post(URL, {**base, "static_shares": {str(world.a.membership.pk): "1.5"}}, format="json")
    assert over.status_code == 400
    ok = client.post(URL, {**base, "static_shares": {str(world.a.membership.pk): "0.6"}}, format="json")
    assert ok.status_code == 201, ok.json()


def test_it_refuses_parameters_of_another_regime(world, as_user):
    eeg = RegimeParameters.objects.get(regime="at_eeg")
    resp = as_user(world.a.referent).post(
        URL,
        {
            "community": world.a.community.pk,
            "name": "X",
            "valid_from": "2025-01-01",
            "regime_parameters": eeg.pk,
        },
        format="json",
    )
    assert resp.status_code == 400
    assert "regime_parameters" in resp.json()["details"]


def test_it_refuses_members_creating_configurations(world, as_user):
    resp = as_user(world.a.member).post(
        URL, {"community": world.a.community.pk, "name": "X", "valid_from": "2025-01-01"}, format="json"
    )
    assert resp.status_code == 403
    assert not Configuration.objects.exists()


def test_it_filters_configurations_active_on_a_day(world, as_user):
    client = as_user(world.a.referent)
    client.post(
        URL,
        {
            "community": world.a.community.pk,
            "name": "A",
            "valid_from": "2025-01-01",
            "valid_to": "2025-07-01",
        },
        format="json",
    )
    client.post(
        URL, {"community": world.a.community.pk, "name": "B", "valid_from": "2025-07-01"}, format="json"
    )
    body = client.get(URL, {"active_on": "2025-08-15"}).json()
    assert [c["name"] for c in body["items"]] == ["B"]
    assert client.get(URL, {"active_on": "not-a-date"}).status_code == 400
