"""The statements API: members' statements (list, detail, PDF, CSV) and the referents'
reports (community report of a run, yearly report), thin views over the selectors."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import Invalid
from core.pagination import ItemsPagination, page_of
from statements import render, reports, selectors

TAGS = ["statements"]


class StatementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.CharField()
    community = serializers.IntegerField(source="community_id")
    member = serializers.IntegerField(source="membership_id", allow_null=True)
    user = serializers.IntegerField(source="user_id")
    month = serializers.DateField()
    run = serializers.IntegerField(source="run_id")
    total_eur = serializers.DecimalField(max_digits=14, decimal_places=2)
    content_hash = serializers.CharField()
    created_at = serializers.DateTimeField()


class StatementDetailSerializer(StatementSerializer):
    data = serializers.JSONField(help_text="The statement as printed: energy, lines with their rule, totals.")


def _download(content, *, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


PDF = OpenApiResponse(OpenApiTypes.BINARY, description="application/pdf")
CSV = OpenApiResponse(OpenApiTypes.STR, description="text/csv")
XLSX = OpenApiResponse(OpenApiTypes.BINARY, description="an XLSX workbook or a PDF, as `fmt` asks")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT = {(200, XLSX_TYPE): XLSX, (200, "application/pdf"): XLSX}
FMT = OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=["xlsx", "pdf"], description="The format.")


@extend_schema(tags=TAGS)
class StatementsApi(APIView):
    """Statements you may see: a member their own; a referent also their communities'
    (filter with `member`, a membership id, and `community`). Newest first."""

    @extend_schema(
        operation_id="billing_statements_list",
        responses=page_of(StatementSerializer, "StatementPage"),
        parameters=[
            OpenApiParameter("member", int, description="A membership you may see."),
            OpenApiParameter("community", int, description="A community you may see."),
            OpenApiParameter("month", str, description="YYYY-MM."),
        ],
    )
    def get(self, request):
        qs = selectors.statements_list(user=request.user, member=request.query_params.get("member"),
                                       community=request.query_params.get("community"),
                                       month=request.query_params.get("month"))
        paginator = ItemsPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(StatementSerializer(page, many=True).data)


@extend_schema(tags=TAGS)
class StatementApi(APIView):
    """One statement with its printed data and content hash."""

    @extend_schema(responses=StatementDetailSerializer)
    def get(self, request, pk: int):
        statement = selectors.statement_get(user=request.user, statement_id=pk)
        return Response(StatementDetailSerializer(statement).data)


@extend_schema(tags=TAGS)
class StatementPdfApi(APIView):
    """The statement as a PDF, in the request's language."""

    @extend_schema(responses={(200, "application/pdf"): PDF})
    def get(self, request, pk: int):
        statement = selectors.statement_get(user=request.user, statement_id=pk)
        return _download(render.statement_pdf(statement.data), filename=f"{statement.number}.pdf",
                         content_type="application/pdf")


@extend_schema(tags=TAGS)
class StatementCsvApi(APIView):
    """The statement as CSV (`.` decimals, text cells formula-safe)."""

    @extend_schema(responses={(200, "text/csv"): CSV})
    def get(self, request, pk: int):
        statement = selectors.statement_get(user=request.user, statement_id=pk)
        return _download(render.statement_csv(statement.data), filename=f"{statement.number}.csv",
                         content_type="text/csv; charset=utf-8")


def _fmt(fmt: str) -> str:
    if fmt not in ("xlsx", "pdf"):
        raise Invalid(details={"format": ["invalid_choice"]})
    return fmt


@extend_schema(tags=TAGS)
class CommunityReportApi(APIView):
    """A posted run's community report (all members, totals, fund), for its referents:
    `xlsx` or `pdf`. A member of the community gets 403, anyone else 404."""

    @extend_schema(responses=REPORT, parameters=[FMT])
    def get(self, request, run_id: int, fmt: str):
        fmt = _fmt(fmt)
        run = selectors.run_for_report(user=request.user, run_id=run_id)
        report = reports.community_report(run=run)
        name = f"community-report-C{run.period.community_id}-{run.period.month:%Y-%m}-R{run.number}.{fmt}"
        if fmt == "xlsx":
            return _download(reports.community_report_xlsx(report), filename=name, content_type=XLSX_TYPE)
        return _download(reports.community_report_pdf(report), filename=name, content_type="application/pdf")


@extend_schema(tags=TAGS)
class YearlyReportApi(APIView):
    """The yearly report of how the incentive was shared (received; producers, consumers,
    fund, excess; per member), as GSE asks referents for: `xlsx` or `pdf`."""

    @extend_schema(responses=REPORT, parameters=[FMT])
    def get(self, request, community_id: int, year: int, fmt: str):
        fmt = _fmt(fmt)
        if not 2000 <= year <= 2100:
            raise Invalid(details={"year": ["invalid"]})
        community = selectors.community_for_report(user=request.user, community_id=community_id)
        report = reports.yearly_report(community=community, year=year)
        name = f"yearly-report-C{community.pk}-{year}.{fmt}"
        if fmt == "xlsx":
            return _download(reports.yearly_report_xlsx(report), filename=name, content_type=XLSX_TYPE)
        return _download(reports.yearly_report_pdf(report), filename=name, content_type="application/pdf")
