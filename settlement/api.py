"""The settlement API under `/api/v1/billing/`: thin views over `settlement.services` and
`settlement.selectors`. Runs are visible to the members of their community (each member
sees only their own lines) and managed by its referents (approve, post, gap decisions)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from communities.models import Community
from core.exceptions import Invalid
from core.pagination import ItemsPagination, page_of
from core.scoping import get_visible
from settlement import selectors, services
from settlement.gse import gse_statement_import
from settlement.models import (
    GapDecisionKind,
    GseYearlyStatement,
    RunKind,
    RunStatus,
    SettlementLine,
    SettlementRun,
)

TAGS = ["settlement"]


class LineSerializer(serializers.ModelSerializer):
    class Meta:
        model = SettlementLine
        fields = [
            "id",
            "kind",
            "rule",
            "membership",
            "plant",
            "user",
            "energy_kwh",
            "amount",
            "detail",
            "position",
        ]


class RunSerializer(serializers.ModelSerializer):
    community = serializers.IntegerField(source="period.community_id")
    month = serializers.SerializerMethodField()
    stale = serializers.SerializerMethodField(
        help_text="A posted true-up whose year had a month posted after it (a correction): draft it again."
    )

    class Meta:
        model = SettlementRun
        fields = [
            "id",
            "community",
            "month",
            "number",
            "kind",
            "status",
            "regime",
            "corrects",
            "inputs_hash",
            "result_hash",
            "error",
            "created_by",
            "created_at",
            "approved_by",
            "approved_at",
            "posted_by",
            "posted_at",
            "stale",
        ]

    def get_month(self, run) -> str:
        return f"{run.period.month:%Y-%m}"

    def get_stale(self, run) -> bool:
        stale = self.context.get("stale")
        if stale is None:
            stale = selectors.stale_true_ups([run])
        return run.pk in stale


class RunDetailSerializer(RunSerializer):
    data_quality = serializers.JSONField()
    totals = serializers.JSONField()
    lines = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "data_quality", "totals", "lines"]

    def get_lines(self, run) -> list[dict]:
        user = self.context["request"].user
        qs = SettlementLine.objects.visible_to(user).filter(run=run).order_by("position", "id")
        return LineSerializer(qs, many=True).data


class DraftSerializer(serializers.Serializer):
    community = serializers.IntegerField()
    month = serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", help_text="YYYY-MM")


class TrueUpSerializer(serializers.Serializer):
    community = serializers.IntegerField()
    year = serializers.IntegerField(min_value=2000, max_value=2100)


class GseImportSerializer(serializers.Serializer):
    community = serializers.IntegerField()
    file = serializers.FileField()


class GseImportReportSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    configurations = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    removed = serializers.IntegerField()


class GseStatementSerializer(serializers.ModelSerializer):
    class Meta:
        model = GseYearlyStatement
        fields = ["id", "community", "year", "configuration", "incentivised_kwh", "tip_eur",
                  "valorisation_eur", "excess_premium_eur", "advances_eur", "source", "imported_at"]


class GapDecisionSerializer(serializers.Serializer):
    metering_point = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=GapDecisionKind.values)
    method = serializers.CharField(required=False, allow_blank=True, default="")


def parse_month(raw: str) -> date:
    year, month = raw.split("-")
    return date(int(year), int(month), 1)


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise Invalid(gettext("Invalid input."), details=serializer.errors)
    return serializer.validated_data


def _run(request, pk) -> SettlementRun:
    return get_visible(SettlementRun.objects.select_related("period__community"), request.user, pk=pk)


def _detail(request, run, code=status.HTTP_200_OK):
    return Response(RunDetailSerializer(run, context={"request": request}).data, status=code)


@extend_schema(tags=TAGS)
class SettlementListApi(APIView):
    """Settlement runs of the communities you belong to or manage, newest month first.
    POST drafts the run of a community's month (referents): 201 with the new run, 200 with
    the existing one when nothing changed since it."""

    @extend_schema(
        operation_id="billing_settlements_list",
        responses=page_of(RunSerializer, "SettlementRunPage"),
        parameters=[
            OpenApiParameter("community", int),
            OpenApiParameter("status", str, enum=RunStatus.values),
            OpenApiParameter("kind", str, enum=RunKind.values),
            OpenApiParameter("month", str, description="YYYY-MM"),
        ],
    )
    def get(self, request):
        qs = selectors.settlement_list(user=request.user)
        params = request.query_params
        if params.get("community", "").isdigit():
            qs = qs.filter(period__community_id=int(params["community"]))
        if params.get("status"):
            if params["status"] not in RunStatus.values:
                raise Invalid(gettext("Unknown run status."), details={"status": ["invalid_choice"]})
            qs = qs.filter(status=params["status"])
        if params.get("kind"):
            if params["kind"] not in RunKind.values:
                raise Invalid(gettext("Unknown run kind."), details={"kind": ["invalid_choice"]})
            qs = qs.filter(kind=params["kind"])
        if params.get("month"):
            try:
                qs = qs.filter(period__month=parse_month(params["month"]))
            except ValueError:
                raise Invalid(gettext("month is YYYY-MM."), details={"month": ["YYYY-MM"]}) from None
        paginator = ItemsPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        stale = selectors.stale_true_ups(page)
        return paginator.get_paginated_response(RunSerializer(page, many=True, context={"stale": stale}).data)

    @extend_schema(request=DraftSerializer, responses={201: RunDetailSerializer, 200: RunDetailSerializer})
    def post(self, request):
        data = _valid(DraftSerializer, request.data)
        community = get_visible(Community.objects, request.user, pk=data["community"])
        run = services.settlement_draft(
            actor=request.user, community=community, month=parse_month(data["month"])
        )
        return _detail(request, run, status.HTTP_201_CREATED if run.created else status.HTTP_200_OK)


@extend_schema(tags=TAGS)
class SettlementDetailApi(APIView):
    """One run: its lines (a member sees only their own), hashes and data-quality report."""

    @extend_schema(responses=RunDetailSerializer)
    def get(self, request, pk: int):
        return _detail(request, _run(request, pk))


@extend_schema(tags=TAGS)
class SettlementApproveApi(APIView):
    """Approve a draft run (referents): refused (409) while gaps are undecided or when the
    inputs changed since the draft."""

    @extend_schema(request=None, responses=RunDetailSerializer)
    def post(self, request, pk: int):
        return _detail(request, services.settlement_approve(actor=request.user, run=_run(request, pk)))


@extend_schema(tags=TAGS)
class SettlementPostApi(APIView):
    """Post an approved run to the ledger (referents). Posting twice posts nothing twice."""

    @extend_schema(request=None, responses=RunDetailSerializer)
    def post(self, request, pk: int):
        return _detail(request, services.settlement_post(actor=request.user, run=_run(request, pk)))


@extend_schema(tags=TAGS)
class GapDecisionApi(APIView):
    """Decide a metering point's missing intervals in this run's month: `estimate` (method
    `linear` or `zero`), `exclude` or `wait`; the run is drafted again with the decision
    (the answer is the new draft)."""

    @extend_schema(request=GapDecisionSerializer, responses=RunDetailSerializer)
    def post(self, request, pk: int):
        run = _run(request, pk)
        data = _valid(GapDecisionSerializer, request.data)
        community, month = run.period.community, run.period.month
        services.gap_decide(
            actor=request.user,
            community=community,
            month=month,
            metering_point_id=data["metering_point"],
            decision=data["decision"],
            method=data["method"],
        )
        new = services.settlement_draft(actor=request.user, community=community, month=month)
        return _detail(request, new)


@extend_schema(tags=TAGS)
class TrueUpApi(APIView):
    """Draft the yearly true-up of a community (referents; Italian regimes): GSE's yearly
    statement minus the year's posted advances, split as the advances are. 201 with the new
    run (kind `true_up`), 200 with the unchanged one; 409 `NoGseStatement` before the
    statement is imported. Approve and post it as any run."""

    @extend_schema(request=TrueUpSerializer, responses={201: RunDetailSerializer, 200: RunDetailSerializer})
    def post(self, request):
        data = _valid(TrueUpSerializer, request.data)
        community = get_visible(Community.objects, request.user, pk=data["community"])
        run = services.settlement_true_up_draft(actor=request.user, community=community, year=data["year"])
        return _detail(request, run, status.HTTP_201_CREATED if run.created else status.HTTP_200_OK)


@extend_schema(tags=TAGS)
class GseStatementApi(APIView):
    """GSE's yearly statements of the communities you manage (GET, filters `community`,
    `year`); POST (multipart `community`, `file`) imports one (README: layout). A bad file
    is 400 and changes nothing; importing the same file again changes nothing."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="billing_gse_statements_list",
        responses=page_of(GseStatementSerializer, "GseStatementPage"),
        parameters=[OpenApiParameter("community", int), OpenApiParameter("year", int)],
    )
    def get(self, request):
        qs = GseYearlyStatement.objects.visible_to(request.user)
        qs = qs.order_by("community_id", "-year", "configuration")
        for key in ("community", "year"):
            raw = request.query_params.get(key, "")
            if raw:
                if not raw.isdigit():
                    raise Invalid(gettext("Invalid input."), details={key: ["A number."]})
                qs = qs.filter(**{f"{key}_id" if key == "community" else key: int(raw)})
        paginator = ItemsPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(GseStatementSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": GseImportSerializer}, responses={200: GseImportReportSerializer}
    )
    def post(self, request):
        data = _valid(GseImportSerializer, request.data)
        community = get_visible(Community.objects, request.user, pk=data["community"])
        upload = data["file"]
        limit = settings.SETTLEMENT_IMPORT_MAX_MB * 1024 * 1024
        if upload.size > limit:
            raise Invalid(gettext("The file is too large."), details={"file": [f"At most {limit} bytes."]})
        report = gse_statement_import(actor=request.user, community=community, data=upload.read(),
                                      source=upload.name or "")
        return Response(report)
