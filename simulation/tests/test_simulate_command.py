"""`manage.py simulate SCENARIO` for operators."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from simulation.models import SimulationRun
from simulation.serializers import ScenarioIn
from simulation.services import scenario_create
from simulation.tests.conftest import payload


def _scenario(world, **overrides):
    serializer = ScenarioIn(data=payload(community=world.a.community.pk, **overrides))
    serializer.is_valid(raise_exception=True)
    return scenario_create(actor=world.a.referent, data=serializer.validated_data)


@pytest.mark.django_db
def test_it_runs_a_scenario_synchronously_and_prints_the_summary(world):
    scenario = _scenario(world)
    out = StringIO()
    call_command("simulate", str(scenario.pk), stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["status"] == "done" and summary["solver"]["status"] == "Optimal"
    assert summary["period"]["intervals"] == 72
    assert summary["total"]["consumption_kwh"] > 0
    assert "npv_eur" in summary["economics"] and "cash_flow" not in summary["economics"]
    run = SimulationRun.objects.get(job=summary["job"])
    assert run.status == "done" and run.intervals_npz


@pytest.mark.django_db
def test_it_imports_the_community_members_plants_and_batteries(world):
    from plants.models import Asset

    Asset.objects.create(
        plant=world.a.plant, kind="battery", capacity_kwh=8, power_kw=4, round_trip_efficiency="0.9"
    )
    scenario = _scenario(world, import_community=True, members=[], plants=[], batteries=[])
    assert scenario.members.count() == 2
    plant = scenario.plants.get()
    assert plant.plant == world.a.plant and plant.member.membership == world.a.membership
    battery = scenario.batteries.get()
    assert float(battery.charge_efficiency) == pytest.approx(0.9**0.5, abs=1e-3)
    out = StringIO()
    call_command("simulate", str(scenario.pk), "--full", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["participants"] == {
        "members": 2,
        "plants": 1,
        "batteries": 1,
        "pv_kwp": 6.0,
        "battery_kwh": 8.0,
    }
    assert len(summary["split"]["members"]) == 2


@pytest.mark.django_db
def test_it_refuses_an_unknown_scenario(world):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("simulate", "999999")


@pytest.mark.django_db
def test_it_seeds_a_demo_scenario_once(world):
    from simulation import demo

    out = StringIO()
    demo.seed({"community": world.a.community}, out)
    demo.seed({"community": world.a.community}, out)
    scenario = world.a.community.scenarios.get()
    assert scenario.runs.filter(status="done").count() == 1
    assert scenario.plants.count() == 2 and scenario.batteries.count() == 1
