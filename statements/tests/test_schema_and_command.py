"""The statements API is in the OpenAPI schema (valid), and the operators' command issues
the statements of a posted run once."""

import pytest
from django.core.management import call_command
from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from statements.models import Statement, StatementEmail


def test_the_schema_documents_the_statement_endpoints():
    doc = SchemaGenerator(patterns=[path("api/v1/billing/", include("statements.api_urls"))]).get_schema(
        request=None, public=True
    )
    validate_schema(doc)
    for url in (
        "/api/v1/billing/statements",
        "/api/v1/billing/statements/{id}",
        "/api/v1/billing/statements/{id}/pdf",
        "/api/v1/billing/statements/{id}/csv",
        "/api/v1/billing/reports/community/{run_id}/{fmt}",
        "/api/v1/billing/reports/yearly/{community_id}/{year}/{fmt}",
    ):
        assert url in doc["paths"], url
    params = {p["name"] for p in doc["paths"]["/api/v1/billing/statements"]["get"]["parameters"]}
    assert {"member", "community", "month"} <= params
    report = doc["paths"]["/api/v1/billing/reports/community/{run_id}/{fmt}"]["get"]
    fmt = next(p for p in report["parameters"] if p["name"] == "fmt")
    assert sorted(fmt["schema"]["enum"]) == ["pdf", "xlsx"]


def test_the_command_issues_a_posted_runs_missing_statements_once(posted, capsys):
    Statement.objects.filter(run=posted.run).delete()  # as if posted before the hook existed
    call_command("statements_issue", "--run", str(posted.run.pk))
    assert Statement.objects.filter(run=posted.run).count() == 2
    assert StatementEmail.objects.filter(statement__run=posted.run).count() == 2
    call_command("statements_issue", "--run", str(posted.run.pk))
    assert Statement.objects.filter(run=posted.run).count() == 2
    assert "0 statement(s)" in capsys.readouterr().out


def test_the_command_refuses_a_run_that_is_not_posted(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("statements_issue", "--run", "999999")


def test_beat_sweeps_the_statement_emails():
    from config.beat import BEAT_TASKS
    from config.celery import app

    app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    names = {t["task"] for t in BEAT_TASKS}
    assert "statements.tasks.statement_emails_sweep_task" in names
    assert "statements.tasks.statement_emails_sweep_task" in app.tasks
