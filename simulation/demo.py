"""Demo data: a what-if scenario for the demo community (its members and plants plus a
community battery and a few simulated households), run once so the portal has results."""

from simulation.models import Scenario, SimulationRun
from simulation.serializers import ScenarioIn

NAME = "Demo: what if we add a 40 kWh community battery?"


def seed(ctx, out):
    community = ctx.get("community")
    if community is None:
        return
    referent = community.referents.first()
    if referent is None:
        return
    scenario = Scenario.objects.filter(community=community, name=NAME).first()
    if scenario is None:
        from simulation.services import scenario_create

        serializer = ScenarioIn(
            data={
                "name": NAME,
                "community": community.pk,
                "import_community": True,
                "regime": "it_cer",
                "region": "Emilia-Romagna",  # the demo community is around Bologna
                "start": "2025-01-01T00:00:00+01:00",
                "end": "2026-01-01T00:00:00+01:00",
                "seed": 2025,
                "members": [
                    {
                        "key": f"sim{i}",
                        "name": f"Simulated household {i}",
                        "profile": "H0",
                        "annual_kwh": 2700 + 150 * i,
                    }
                    for i in range(1, 6)
                ]
                + [{"key": "hub", "name": "Community hub", "profile": "G1", "annual_kwh": 8000}],
                "plants": [{"member": "hub", "name": "Hub rooftop", "lat": 44.47, "lon": 11.40, "kwp": 40}],
                "batteries": [
                    {"member": "hub", "name": "Community battery", "capacity_kwh": 40, "power_kw": 20}
                ],
            }
        )
        serializer.is_valid(raise_exception=True)
        scenario = scenario_create(actor=referent, data=serializer.validated_data)
    if not SimulationRun.objects.filter(scenario=scenario, status="done").exists():
        from simulation.worker import run_execute

        run = SimulationRun.objects.create(scenario=scenario, created_by=referent, message="Demo seed")
        run = run_execute(run_id=run.pk)
        out.write(f"simulation: demo scenario {scenario.pk} run {run.job} {run.status}")
