"""A posted run of community A (the settlement's own fixture: meters -> rollups -> run),
drafted, approved and posted by the referent through the settlement API."""

from dataclasses import dataclass

import pytest

SETTLEMENTS = "/api/v1/billing/settlements"


@dataclass
class Posted:
    world: object
    run: object
    settled: object


def post_month(world, as_user, settled, month="2025-03"):
    from settlement.models import SettlementRun

    referent = as_user(world.a.referent)
    res = referent.post(SETTLEMENTS, {"community": settled.community.pk, "month": month}, format="json")
    assert res.status_code in (200, 201), res.content
    run_id = res.json()["id"]
    assert referent.post(f"{SETTLEMENTS}/{run_id}/approve").status_code == 200
    assert referent.post(f"{SETTLEMENTS}/{run_id}/post").status_code == 200
    return SettlementRun.objects.get(pk=run_id)


@pytest.fixture
def posted(world, as_user):
    from settlement.tests.conftest import make_settled

    settled = make_settled(world)
    return Posted(world, post_month(world, as_user, settled), settled)
