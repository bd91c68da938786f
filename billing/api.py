"""The billing API: thin views over `billing.services` and `billing.selectors`.

`/api/v1/wallet/transactions` is the wallet's financial history (ledger entries);
`/api/v1/transactions` stays the energy transactions of the communities app.
"""

from __future__ import annotations

import csv
import json

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import receivables, selectors, services
from billing.idempotency import idempotency_begin, idempotency_finish
from billing.models import EntryKind, Payment, Receivable, ReceivableEntry, ReceivableStatus
from core.errors import envelope
from core.exceptions import DomainError, Invalid
from core.pagination import ItemsPagination, page_of

TAGS = ["wallet"]
MAX_CALLBACK_BYTES = 1024 * 1024


class EntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    posting = serializers.IntegerField(source="posting_id")
    kind = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    reason = serializers.CharField(source="posting.reason")
    corrects = serializers.IntegerField(source="posting.corrects_id", allow_null=True)
    community = serializers.IntegerField(source="posting.community_id", allow_null=True)
    created_at = serializers.DateTimeField()


class OwedToSerializer(serializers.Serializer):
    receivable = serializers.IntegerField()
    community = serializers.IntegerField()
    name = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class WalletSerializer(serializers.Serializer):
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    held = serializers.DecimalField(max_digits=14, decimal_places=2)
    available = serializers.DecimalField(max_digits=14, decimal_places=2)
    pending = serializers.DictField(child=serializers.DecimalField(max_digits=14, decimal_places=2))
    owed = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="What you owe communities.")
    owed_to = OwedToSerializer(many=True)
    membership = serializers.IntegerField(allow_null=True)
    last_entries = EntrySerializer(many=True)


def _membership(request):
    raw = request.query_params.get("membership")
    return selectors.membership_of(user=request.user, membership_id=raw) if raw else None


@extend_schema(tags=TAGS)
class WalletApi(APIView):
    """Your wallet: balance, available (balance minus holds), pending, last entries.
    `?membership=<id>` narrows the entries to one of your memberships' community."""

    @extend_schema(
        responses=WalletSerializer,
        parameters=[OpenApiParameter("membership", int, description="One of your memberships.")],
    )
    def get(self, request):
        wallet = selectors.wallet_get(user=request.user, membership=_membership(request))
        return Response(WalletSerializer(wallet).data)


@extend_schema(tags=TAGS)
class WalletTransactionsApi(APIView):
    """Your wallet's entries (financial records), newest first. Filters: `kind`, `from`,
    `to` (ISO dates or datetimes), `membership`; `?export=csv` downloads them all."""

    @extend_schema(
        operation_id="wallet_transactions_list",
        responses={
            (200, "application/json"): page_of(EntrySerializer, "WalletEntryPage"),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="With `?export=csv`."),
        },
        parameters=[
            OpenApiParameter("kind", str, enum=EntryKind.values),
            OpenApiParameter("from", str),
            OpenApiParameter("to", str),
            OpenApiParameter("membership", int),
            OpenApiParameter("export", str, enum=["csv"]),
        ],
    )
    def get(self, request):
        params = request.query_params
        entries = selectors.wallet_entries(
            user=request.user,
            kind=params.get("kind"),
            since=selectors.parse_when(params.get("from"), field="from"),
            until=selectors.parse_when(params.get("to"), field="to", end=True),
            membership=_membership(request),
        )
        if params.get("export") == "csv":
            return _csv(entries)
        paginator = ItemsPagination()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(EntrySerializer(page, many=True).data)


class ReceivableEntrySerializer(serializers.ModelSerializer):
    """One movement: a charge names the settlement run and line that created it."""

    settlement_run = serializers.IntegerField(source="settlement_run_id", allow_null=True, read_only=True)
    settlement_line = serializers.IntegerField(source="settlement_line_id", allow_null=True, read_only=True)

    class Meta:
        model = ReceivableEntry
        fields = ["id", "kind", "amount", "posting", "settlement_run", "settlement_line", "actor", "note",
                  "created_at"]


class ReceivableSerializer(serializers.ModelSerializer):
    owed = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    status = serializers.ChoiceField(choices=ReceivableStatus.values, read_only=True)
    entries = ReceivableEntrySerializer(many=True, read_only=True)

    class Meta:
        model = Receivable
        fields = ["id", "user", "community", "currency", "owed", "status", "created_at", "entries"]


SettleIn = inline_serializer(
    "ReceivableSettleIn",
    {
        "method": serializers.ChoiceField(choices=list(receivables.METHODS)),
        "amount": serializers.DecimalField(max_digits=14, decimal_places=2, required=False),
        "note": serializers.CharField(max_length=300),
    },
)


@extend_schema(tags=TAGS)
class ReceivableListApi(APIView):
    """What members owe communities: yours; as a referent (or admin), your communities'.
    Filters `community` (id) and `status` (`open`, `settled`)."""

    @extend_schema(
        operation_id="billing_receivables_list",
        responses={200: page_of(ReceivableSerializer, "ReceivablePage")},
        parameters=[
            OpenApiParameter("community", int),
            OpenApiParameter("status", str, enum=ReceivableStatus.values),
        ],
    )
    def get(self, request):
        qs = receivables.receivables_list(
            user=request.user,
            community=request.query_params.get("community"),
            status=request.query_params.get("status"),
        )
        paginator = ItemsPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ReceivableSerializer(page, many=True).data)


@extend_schema(tags=TAGS)
class ReceivableSettleApi(APIView):
    """Settle what a member owes by hand, for the community's referents (and admins):
    `outside_payment` (paid outside the platform) or `write_off` (from the community's
    fund); `amount` defaults to all that is owed; `note` says why. Audited."""

    @extend_schema(request=SettleIn, responses={200: ReceivableSerializer})
    def post(self, request, pk: int):
        data = _body(request)
        receivables.receivable_settle(
            actor=request.user,
            receivable_id=pk,
            method=data.get("method"),
            amount=data.get("amount"),
            note=data.get("note") if isinstance(data.get("note"), str) else "",
        )
        receivable = Receivable.objects.select_related("account").get(pk=pk)
        return Response(ReceivableSerializer(receivable).data)


def _csv(entries) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="wallet-entries.csv"'
    writer = csv.writer(response)
    writer.writerow(["id", "created_at", "kind", "amount", "posting", "reason"])
    for leg in entries.iterator(chunk_size=2000):
        reason = leg.posting.reason
        if reason[:1] in ("=", "+", "-", "@"):
            reason = "'" + reason  # no formula injection in spreadsheets
        writer.writerow([leg.pk, leg.created_at.isoformat(), leg.kind, leg.amount, leg.posting_id, reason])
    return response


def _key(request) -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    return key or None


def _payment_body(payment: Payment) -> dict:
    return {
        "payment": str(payment.uuid),
        "provider": payment.provider,
        "status": payment.status,
        "amount": str(payment.amount),
        "currency": payment.currency,
        **payment.client_data,
    }


AmountIn = inline_serializer(
    "AmountIn", {"amount": serializers.DecimalField(max_digits=14, decimal_places=2)}
)
WithdrawIn = inline_serializer(
    "WithdrawIn",
    {"amount": serializers.DecimalField(max_digits=14, decimal_places=2), "iban": serializers.CharField()},
)


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise Invalid(gettext("A JSON object is required."))
    return request.data


@extend_schema(tags=TAGS)
class TopupApi(APIView):
    """Start a top-up: answers what the client needs to pay (a redirect URL or a client
    secret). The wallet is credited when the provider confirms (payment callback).
    Send an `Idempotency-Key` header: a retry answers the first answer."""

    @extend_schema(request=AmountIn, responses={201: dict})
    def post(self, request):
        data = _body(request)
        amount = services.money_parse(data.get("amount"))
        key = _key(request)
        with transaction.atomic():
            record, new = (
                idempotency_begin(user=request.user, scope="topup", key=key, data={"amount": str(amount)})
                if key
                else (None, True)
            )
            if new:
                payment = services.payment_create(actor=request.user, amount=amount)
                idempotency_finish(record, 201, {"payment": str(payment.uuid)})
            else:
                payment = Payment.objects.get(uuid=record.response["payment"], user=request.user)
        payment = services.payment_start(payment=payment)
        return Response(_payment_body(payment), status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class WithdrawApi(APIView):
    """Withdraw to an IBAN: places a hold at once; the payout is sent after commit.
    Send an `Idempotency-Key` header: a retry answers the first answer."""

    @extend_schema(request=WithdrawIn, responses={201: dict})
    def post(self, request):
        data = _body(request)
        amount = services.money_parse(data.get("amount"))
        iban = services.iban_normalise(data.get("iban"))
        key = _key(request)
        with transaction.atomic():
            record, new = (
                idempotency_begin(
                    user=request.user, scope="withdraw", key=key, data={"amount": str(amount), "iban": iban}
                )
                if key
                else (None, True)
            )
            if not new:
                return Response(record.response, status=record.status_code)
            try:
                payout = services.wallet_withdraw(actor=request.user, amount=amount, iban=iban)
            except DomainError as exc:
                body = envelope(exc.error, exc.message, exc.status_code, exc.details)
                idempotency_finish(record, exc.status_code, body)
                return Response(body, status=exc.status_code)
            body = {
                "payout": str(payout.uuid),
                "status": payout.status,
                "amount": str(payout.amount),
                "currency": payout.currency,
                "iban": payout.iban_masked,
            }
            idempotency_finish(record, 201, body)
        return Response(body, status=status.HTTP_201_CREATED)


@csrf_exempt
@require_POST
def payment_callback(request):
    """From the payment gateway: signature checked on the raw body before parsing; the
    event is recorded once (replays change nothing) and processed in the same transaction."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_CALLBACK_BYTES:
        return JsonResponse(envelope("PayloadTooLarge", "Body too large.", 413), status=413)
    try:
        row, outcome = services.callback_receive(body=request.body, headers=request.headers)
    except DomainError as exc:
        return JsonResponse(
            envelope(exc.error, exc.message, exc.status_code, exc.details), status=exc.status_code
        )
    return JsonResponse({"received": True, "event": row.event_id, "outcome": outcome}, status=200)


@extend_schema(tags=["admin"])
class MetricsApi(APIView):
    """Operators' figures (admins: the platform; vendors: their organization).
    `?period=24h|7d|30d...` for the in-period counts."""

    @extend_schema(responses=dict, parameters=[OpenApiParameter("period", str)])
    def get(self, request):
        period = selectors.period_parse(request.query_params.get("period"))
        data = selectors.metrics_get(user=request.user, period=period)
        return Response(json.loads(json.dumps(data, default=str)))
