"""Production defaults (issue 8, item 8): DEBUG is off unless set; then every development
secret, EMAIL_URL included, must be given, and the demo data refuses to load. Names cannot
break email headers; SMTP has a timeout.

Settings are read once at start-up, so these run `manage.py` in a subprocess.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from core.mail import header_safe

ROOT = Path(__file__).resolve().parent.parent.parent
MANDATORY = re.findall(r'_mandatory\("([A-Z0-9_]+)"', (ROOT / "config" / "settings.py").read_text())


def _env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update({name: secrets.token_urlsafe(50) for name in MANDATORY})
    env.update(TESTING="0", ALLOWED_HOSTS="commonwatt.example.org",
               CSRF_TRUSTED_ORIGINS="https://commonwatt.example.org",
               SITE_URL="https://commonwatt.example.org",
               EMAIL_URL="smtp+tls://mailer:secret@smtp.example.org:587")
    env.update(overrides)
    return env


def _manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_email_url_is_a_mandatory_setting():
    assert {"SECRET_KEY", "JWT_SIGNING_KEY", "MQTT_PASSWORD", "MQTT_SIMULATOR_PASSWORD",
            "EMAIL_URL"} <= set(MANDATORY)


@pytest.mark.parametrize("name", MANDATORY)
def test_without_debug_set_each_missing_secret_refuses_and_is_named(name):
    env = _env()  # no DEBUG at all: the default must be production
    # some secrets are required only for the provider in use
    if name.startswith("RAZORPAY_"):  # payments: default stripe
        env["BILLING_PROVIDER"] = "razorpay"
    if name.startswith("TWILIO_"):  # SMS: default none
        env["SMS_PROVIDER"] = "twilio"
    if name.startswith("WEATHER_"):  # weather: default none (forecasts from history only)
        env["WEATHER_PROVIDER"] = "openweathermap"
    env.pop(name)
    result = _manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert f"{name} must be set when DEBUG=0" in result.stderr


def test_without_debug_set_the_deploy_checks_are_clean():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_seed_demo_refuses_without_debug():
    result = _manage("seed_demo", env=_env(DEBUG="0"))
    assert result.returncode != 0
    assert "runs only in development (DEBUG=1)" in result.stderr


def test_smtp_has_a_timeout():
    code = "from django.conf import settings as s; print(s.EMAIL_TIMEOUT)"
    result = _manage("shell", "--no-imports", "-c", code, env=_env(DEBUG="0"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10"


@pytest.mark.django_db
def test_a_name_with_a_line_break_is_refused(api, as_user, world):
    evil = "Eve\r\nBcc: everyone@example.com"
    response = api.post("/api/v1/auth/register", {"email": "eve@example.com", "password": "Sunny-Meadow-42!",
                                                  "full_name": evil}, format="json")
    assert response.status_code == 400 and "full_name" in response.json()["details"]
    response = as_user(world.a.member).put("/api/v1/users/profile", {"full_name": evil}, format="json")
    assert response.status_code == 400 and "full_name" in response.json()["details"]
    response = as_user(world.admin).post("/api/v1/users", {"email": "eve@example.com", "full_name": evil},
                                         format="json")
    assert response.status_code == 400


def test_header_safe_keeps_one_line():
    assert header_safe("Eve\r\nBcc: x@example.com\u2028y") == "Eve Bcc: x@example.com y"
