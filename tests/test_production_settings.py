"""With DEBUG=0 and the production variables set, `check --deploy` reports nothing; with a
secret missing, the process refuses to start and names the variable."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANDATORY = re.findall(r'_mandatory\("([A-Z0-9_]+)"', (ROOT / "config" / "settings.py").read_text())


def _production_env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update({name: secrets.token_urlsafe(50) for name in MANDATORY})
    env.update(DEBUG="0", TESTING="0", ALLOWED_HOSTS="commonwatt.example.org",
               CSRF_TRUSTED_ORIGINS="https://commonwatt.example.org",
               SITE_URL="https://commonwatt.example.org",
               EMAIL_URL="smtp+tls://mailer:secret@smtp.example.org:587")
    env.update(overrides)
    return env


def _manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_mandatory_secrets_are_found():
    assert {"SECRET_KEY", "JWT_SIGNING_KEY", "MQTT_PASSWORD"} <= set(MANDATORY)


def test_check_deploy_reports_nothing():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SIGNING_KEY"])
def test_it_refuses_to_start_without_a_secret(name):
    env = _production_env()
    env.pop(name)
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert f"{name} must be set when DEBUG=0" in result.stderr


def test_email_goes_to_smtp_from_email_url():
    code = ("from django.conf import settings as s; "
            "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_HOST_USER)")
    result = _manage("shell", "--no-imports", "-c", code, env=_production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.mail.backends.smtp.EmailBackend", "smtp.example.org",
                                     "587", "True", "mailer"]


def test_email_goes_to_the_console_in_development():
    env = _production_env(DEBUG="1")
    env.pop("EMAIL_URL")
    code = "from django.conf import settings as s; print(s.EMAIL_BACKEND)"
    result = _manage("shell", "--no-imports", "-c", code, env=env)
    assert result.stdout.strip() == "django.core.mail.backends.console.EmailBackend"


def test_the_brokers_tls_files_are_not_needed_when_its_tls_listeners_are_off():
    env = _production_env(MQTT_TLS_PORT="0", MQTT_TLS_CERT_PORT="0")
    for name in ("MQTT_TLS_CERT_FILE", "MQTT_TLS_KEY_FILE", "MQTT_TLS_CA_FILE"):
        env.pop(name)
    result = _manage("check", env=env)
    assert result.returncode == 0, result.stderr


def _csp(env) -> dict:
    code = ("import json; from django.conf import settings as s; "
            "print(json.dumps(s.CONTENT_SECURITY_POLICY['DIRECTIVES']))")
    result = _manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_policy_allows_the_production_tile_server_and_google_when_configured():
    policy = _csp(_production_env())
    assert policy["img-src"] == ["'self'", "data:", "https://tile.openstreetmap.org"]
    assert policy["form-action"] == ["'self'"]
    assert policy["report-uri"] == ["/csp-report/"]
    policy = _csp(_production_env(MAP_TILE_URL="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
                                  GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="secret", CSP_REPORT_URI=""))
    assert policy["img-src"] == ["'self'", "data:", "https://*.tiles.example.org"]
    assert policy["form-action"] == ["'self'", "https://accounts.google.com"]
    assert policy["report-uri"] is None
