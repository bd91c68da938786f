"""Weather providers behind one interface, served from payload fixtures on loopback (no
network): the adapters' parsing, the request they send, and their effect on the forecast."""

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from django.core.management import call_command

from forecasts.models import Forecast
from forecasts.tests.conftest import ISSUE
from forecasts.weather import OpenMeteo, OpenWeatherMap, WeatherUnavailable, provider

DATA = Path(__file__).parent / "data"


@pytest.fixture
def served():
    """An HTTP server on loopback answering GET <path> with the fixture file named for it."""
    requests_seen: list[dict] = []
    routes = {"/v1/forecast": "open_meteo_forecast.json",
              "/data/2.5/forecast": "openweathermap_forecast.json"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            requests_seen.append({"path": url.path, "query": parse_qs(url.query)})
            name = routes.get(url.path)
            body = (DATA / name).read_bytes() if name else b'{"error": "not found"}'
            self.send_response(200 if name else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests_seen
    server.shutdown()


def test_open_meteo_parses_hourly_cloud_cover(served):
    base, seen = served
    cover = OpenMeteo(f"{base}/v1/forecast").cloud_cover(lat=44.49, lon=11.34,
                                                         start=datetime(2025, 6, 17, 4, tzinfo=UTC), hours=48)
    assert cover.shape == (48,)
    assert cover[0] == pytest.approx(20.0)  # 04:00-05:00 of the 17th
    assert cover[20:44] == pytest.approx(np.full(24, 100.0))  # the whole 18th (UTC)
    assert seen[0]["query"]["hourly"] == ["cloud_cover"] and seen[0]["query"]["latitude"] == ["44.4900"]


def test_openweathermap_interpolates_its_3_hour_steps_and_sends_the_key(served, settings):
    base, seen = served
    cover = OpenWeatherMap("k-123", f"{base}/data/2.5/forecast").cloud_cover(
        lat=44.49, lon=11.34, start=datetime(2025, 6, 17, 4, tzinfo=UTC), hours=48)
    assert cover[0] == pytest.approx(0.0)
    assert cover[25:40] == pytest.approx(np.full(15, 100.0))
    assert 0 < cover[19] < 100  # between a clear and an overcast step
    assert seen[0]["query"]["appid"] == ["k-123"]


def test_a_provider_error_is_weather_unavailable(served):
    base, _ = served
    start = datetime(2025, 6, 17, tzinfo=UTC)
    with pytest.raises(WeatherUnavailable):
        OpenMeteo(f"{base}/nowhere").cloud_cover(lat=1, lon=1, start=start, hours=2)
    with pytest.raises(WeatherUnavailable):
        OpenMeteo("http://127.0.0.1:9/v1/forecast").cloud_cover(lat=1, lon=1, start=start, hours=2)


def test_weather_is_off_by_default(settings):
    assert settings.WEATHER_PROVIDER == ""
    assert provider() is None


@pytest.mark.django_db
def test_an_overcast_forecast_lowers_the_plant_forecast(site, served, settings):
    base, _ = served
    call_command("forecast", "--community", site.community.slug, "--at", ISSUE.isoformat(), stdout=StringIO())
    without = Forecast.objects.get(plant=site.plant, issued_at=ISSUE)
    settings.WEATHER_PROVIDER, settings.WEATHER_BASE_URL = "open-meteo", f"{base}/v1/forecast"
    later = ISSUE.replace(minute=1)
    call_command("forecast", "--community", site.community.slug, "--at", later.isoformat(), stdout=StringIO())
    weathered = Forecast.objects.get(plant=site.plant, issued_at=later)
    assert weathered.method == "clear-sky x weather" and without.method == "clear-sky x gbm"
    overcast = slice(20, 44)  # the 18th (UTC), 100 % cloud cover in the payload
    assert sum(weathered.values_kwh[overcast]) < 0.5 * sum(without.values_kwh[overcast])
    # the provider down: the learned forecast, not a failure
    settings.WEATHER_BASE_URL = "http://127.0.0.1:9/v1/forecast"
    down = ISSUE.replace(minute=2)
    call_command("forecast", "--community", site.community.slug, "--at", down.isoformat(), stdout=StringIO())
    assert Forecast.objects.get(plant=site.plant, issued_at=down).method == "clear-sky x gbm"


