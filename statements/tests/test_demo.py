"""`make run`'s demo: the posted demo month has its statements, readable in the portal and
as a PDF by the demo members; seeding again issues nothing new."""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from pypdf import PdfReader

from settlement.models import SettlementRun
from statements.models import Statement, StatementEmail

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_demo_month_has_statements_in_the_portal_and_as_pdf():
    call_command("seed_demo", stdout=io.StringIO())
    run = SettlementRun.objects.get(status="posted")
    statements = list(Statement.objects.filter(run=run).select_related("user"))
    assert statements and StatementEmail.objects.filter(statement__run=run).count() == len(statements)
    statement = statements[0]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(statement.user)
    assert f"/statements/{statement.pk}/" in client.get("/statements/").content.decode()
    assert client.get(f"/statements/{statement.pk}/").status_code == 200
    pdf = client.get(f"/api/v1/billing/statements/{statement.pk}/pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"{statement.total_eur:,.2f}" in text
    call_command("seed_demo", stdout=io.StringIO())
    assert Statement.objects.count() == len(statements)
