"""The forecast API through HTTP: what each role sees, and the attacks (other community 404,
member trying a manager's action 403, bad input 400 with nothing changed)."""

from io import StringIO

import pytest
from django.core.management import call_command

from forecasts.models import BatterySchedule, Forecast, ForecastScore, ForecastSettings
from forecasts.tests.conftest import ISSUE

pytestmark = pytest.mark.django_db

DAY = "2025-06-18"


@pytest.fixture
def issued(site):
    call_command("forecast", "--community", site.community.slug, "--at", ISSUE.isoformat(), "--score", DAY,
                 stdout=StringIO())
    return site


def test_a_member_reads_the_community_forecast_and_only_their_own_meters(as_user, world, issued):
    response = as_user(world.a.member).get(f"/api/v1/forecast/community/{world.a.community.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["series"]) == {"production", "consumption", "shared"}
    shared = body["series"]["shared"]
    lengths = {len(shared["values_kwh"]), len(shared["low_kwh"]), len(shared["high_kwh"]), len(body["t"])}
    assert lengths == {48}
    own_meters = {row["metering_point"] for row in body["own"] if row["kind"] == "meter"}
    assert own_meters == {issued.meters[0].pk, issued.new_meter.pk}  # not the other member's
    assert {row["plant"] for row in body["own"] if row["kind"] == "plant"} == {issued.plant.pk}


def test_it_hides_other_communities(as_user, world, issued):
    outsider = as_user(world.b.member)
    community = world.a.community.pk
    assert outsider.get(f"/api/v1/forecast/community/{community}").status_code == 404
    assert outsider.get(f"/api/v1/forecast/windows?community={community}&day={DAY}").status_code == 404
    assert outsider.get(f"/api/v1/forecast/skill?community={community}").status_code == 404
    assert outsider.get(f"/api/v1/forecast/community/{community}/settings").status_code == 404
    assert as_user(world.b.referent).patch(f"/api/v1/forecast/community/{community}/settings",
                                           {"battery_steering": True}, format="json").status_code == 404
    assert as_user(world.b.referent).post("/api/v1/forecast/batteries", {"community": community},
                                          format="json").status_code == 404
    # lists without a filter: only one's own communities
    windows = outsider.get(f"/api/v1/forecast/windows?day={DAY}").json()["items"]
    assert [item["community"] for item in windows] == [world.b.community.pk]
    assert not ForecastSettings.objects.exists()


def test_a_member_cannot_do_a_managers_actions(as_user, world, issued):
    member = as_user(world.a.member)
    community = world.a.community.pk
    response = member.post(f"/api/v1/forecast/community/{community}")
    assert response.status_code == 403 and response.json()["error"] == "PermissionDenied"
    assert member.patch(f"/api/v1/forecast/community/{community}/settings", {"battery_steering": True},
                        format="json").status_code == 403
    plan = member.post("/api/v1/forecast/batteries", {"community": community}, format="json")
    assert plan.status_code == 403
    assert not ForecastSettings.objects.exists()
    assert Forecast.objects.values("issued_at").distinct().count() == 1


def test_bad_input_is_400_and_changes_nothing(as_user, world, issued):
    referent = as_user(world.a.referent)
    community = world.a.community.pk
    response = referent.get(f"/api/v1/forecast/windows?community={community}&day=tomorrow")
    assert response.status_code == 400 and response.json()["details"]["day"]
    assert referent.get("/api/v1/forecast/windows?community=abc").status_code == 400
    assert referent.get("/api/v1/forecast/skill?days=1000").status_code == 400
    response = referent.patch(f"/api/v1/forecast/community/{community}/settings",
                              {"green_window_min_kwh": -5}, format="json")
    assert response.status_code == 400 and "green_window_min_kwh" in response.json()["details"]
    response = referent.post("/api/v1/forecast/batteries", {"community": community, "day": "x"},
                             format="json")
    assert response.status_code == 400
    assert not ForecastSettings.objects.exists() and not BatterySchedule.objects.exists()


def test_the_green_windows_of_a_day(as_user, world, issued):
    url = f"/api/v1/forecast/windows?community={world.a.community.pk}&day={DAY}"
    response = as_user(world.a.member).get(url)
    assert response.status_code == 200
    item = response.json()["items"][0]
    assert item["windows"], item
    best = max(item["windows"], key=lambda w: w["surplus_kwh"])
    assert best["surplus_kwh"] > 1
    assert item["message"].startswith(f"{best['local_start']}-{best['local_end']} tomorrow: about ")
    assert "dishwasher" in item["message"]
    # a higher threshold (a manager's setting) leaves fewer or no windows
    as_user(world.a.referent).patch(f"/api/v1/forecast/community/{world.a.community.pk}/settings",
                                    {"green_window_min_kwh": 10_000}, format="json")
    again = as_user(world.a.member).get(url)
    assert again.json()["items"][0]["windows"] == []


def test_the_skill_is_served_per_community_and_subjects_by_scope(as_user, world, issued):
    import datetime as dt

    from django.utils import timezone

    days = (timezone.now().date() - dt.date(2025, 6, 18)).days + 1
    if days > 90:  # the scores are of 2025: move them to yesterday for the API's window
        ForecastScore.objects.update(day=timezone.now().date() - dt.timedelta(days=1))
    url = f"/api/v1/forecast/skill?community={world.a.community.pk}"
    referent, member = as_user(world.a.referent).get(url).json(), as_user(world.a.member).get(url).json()
    r, m = referent["items"][0], member["items"][0]
    assert {d["quantity"] for d in r["days"]} == {"production", "consumption", "shared"}
    assert set(r["overall"]) <= {"production", "consumption", "shared"} and r["overall"]
    assert r["subjects"]["meter"]["subjects"] == 2  # both measured meters
    assert m["subjects"]["meter"]["subjects"] == 1  # only the member's own
    score = ForecastScore.objects.get(kind="community", quantity="production")
    day = next(d for d in r["days"] if d["quantity"] == "production")
    assert day["mae_kwh"] == round(score.mae_kwh, 4)
