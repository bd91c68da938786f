"""GDPR export: built by a real Celery worker, a ZIP of JSON and CSV, link emailed, signed,
expiring and good only for the person who asked; staff export people they manage (audited)."""

import csv
import io
import json
import re
import time
import zipfile

import pytest
from django.core import mail
from rest_framework.test import APIClient

from audit.models import AuditEvent
from privacy.models import ExportJob

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(transactional_db, settings, tmp_path):
    """A real worker on this run's default queue (CELERY_QUEUE), in a thread."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    settings.PRIVACY_EXPORT_DIR = tmp_path
    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE, durable=True,
                                           auto_delete=False)
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
                      hostname=f"privacy-{settings.CELERY_TASK_DEFAULT_QUEUE}@test"):
        yield app


def _wait_done(client, job_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/users/profile/export/{job_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError("export not built in time")


def _link(to: str, timeout=10.0) -> str:
    # the job is marked done, then the link is mailed: the mail may follow the status
    deadline = time.monotonic() + timeout
    while not [m for m in mail.outbox if m.to == [to] and "/download?token=" in m.body]:
        assert time.monotonic() < deadline, "no export link mailed"
        time.sleep(0.05)
    [message] = [m for m in mail.outbox if m.to == [to] and "/download?token=" in m.body]
    return re.search(r"http\S+/download\?token=\S+", message.body).group(0)


def _path(link: str) -> str:
    return link.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_a_member_downloads_everything_held_about_them(world, as_user, person, worker):
    member = as_user(person.user)
    started = member.get("/api/v1/users/profile/export")
    assert started.status_code == 202 and started.json()["status"] == "queued"
    assert member.get("/api/v1/users/profile/export").status_code == 409  # one at a time
    assert _wait_done(member, started.json()["id"])["status"] == "done"
    link = _link(person.ids["email"])
    response = member.get(_path(link))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    for kind in ("profile", "memberships", "metering_points", "plants", "devices", "simulations",
                 "wallet_accounts", "wallet_entries", "payouts", "consents", "statements", "settlement_lines",
                 "notifications", "notification_settings", "push_subscriptions", "market_offers",
                 "market_allocations", "market_deliveries"):
        assert {f"{kind}.json", f"{kind}.csv"} <= names, kind
    assert "readings.csv" in names and "readings.json" not in names
    [profile] = json.loads(archive.read("profile.json"))
    assert (profile["email"], profile["fiscal_code"], profile["address"]) == (
        person.ids["email"], person.ids["fiscal_code"], person.ids["address"])
    assert "password" not in profile
    readings = list(csv.DictReader(io.StringIO(archive.read("readings.csv").decode())))
    assert len(readings) == person.readings and {r["device_id"] for r in readings} == {str(person.device.pk)}
    entries = json.loads(archive.read("wallet_entries.json"))
    assert sorted(e["amount"] for e in entries) == ["-10.00", "50.00"]
    [run] = json.loads(archive.read("simulations.json"))
    assert run["summary"]["members"][0]["name"] == person.ids["name"]
    assert "secret" not in archive.read("devices.csv").decode()
    [statement] = json.loads(archive.read("statements.json"))
    assert (statement["total_eur"], statement["data"]["member"]["name"]) == ("12.34", person.ids["name"])
    assert person.ids["phone"] in archive.read("notification_settings.csv").decode()
    assert person.ids["free_text"] in archive.read("market_offers.json").decode()
    assert "k" * 87 not in archive.read("push_subscriptions.csv").decode()  # the browser's keys stay out
    assert not AuditEvent.objects.filter(action="gdpr.export").exists()  # one's own: no staff action


def test_the_link_is_only_for_the_person_who_asked(world, as_user, person, worker):
    member = as_user(person.user)
    job_id = member.post("/api/v1/users/profile/export").json()["id"]
    _wait_done(member, job_id)
    path = _path(_link(person.ids["email"]))
    assert as_user(world.a.other_member).get(path).status_code == 404
    assert as_user(world.a.referent).get(path).status_code == 404
    assert APIClient().get(path).status_code == 401
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert member.get(tampered).status_code == 400
    assert member.get(f"/api/v1/users/profile/export/{job_id}/download").status_code == 400
    assert as_user(world.a.other_member).get(f"/api/v1/users/profile/export/{job_id}").status_code == 404


def test_the_link_expires(world, as_user, person, worker, settings):
    member = as_user(person.user)
    job_id = member.post("/api/v1/users/profile/export").json()["id"]
    _wait_done(member, job_id)
    settings.PRIVACY_EXPORT_LINK_MAX_AGE_S = -1
    response = member.get(_path(_link(person.ids["email"])))
    assert response.status_code == 400 and response.json()["error"] == "InvalidToken"


def test_staff_export_a_person_they_manage_and_it_is_audited(world, as_user, person, worker):
    referent = as_user(world.a.referent)
    started = referent.post("/api/v1/users/profile/export", {"user": person.user.pk}, format="json")
    assert started.status_code == 202
    _wait_done(referent, started.json()["id"])
    assert referent.get(_path(_link(world.a.referent.email))).status_code == 200
    assert not [m for m in mail.outbox if m.to == [person.ids["email"]]]
    event = AuditEvent.objects.get(action="gdpr.export")
    assert (event.actor_id, event.target_user_id) == (world.a.referent.pk, person.user.pk)


def test_staff_cannot_export_outside_their_scope(world, as_user, person):
    for actor in (world.b.referent, world.b.vendor, world.a.other_member):
        response = as_user(actor).post("/api/v1/users/profile/export", {"user": person.user.pk},
                                       format="json")
        assert response.status_code == 404, actor
    # Visible but not manageable: a member of both A and B is seen by A's referent, who
    # manages only part of their memberships.
    from datetime import date

    from communities.models import Membership

    Membership.objects.create(user=world.b.member, community=world.a.community, joined_at=date(2025, 1, 1))
    response = as_user(world.a.referent).post("/api/v1/users/profile/export", {"user": world.b.member.pk},
                                              format="json")
    assert response.status_code == 403
    assert as_user(world.a.member).post("/api/v1/users/profile/export", {"user": "x"},
                                        format="json").status_code == 400
    assert not ExportJob.objects.exists()
