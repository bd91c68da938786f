"""The market API (`/api/v1/market/...`): thin views over `market.services`, `market.selectors`.

Scoping: an offer, allocation or delivery outside the caller's communities is 404; an
offer or allocation the caller sees but does not own is 403 on withdraw / cancel.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.scoping import get_visible
from market import selectors, services
from market.models import Allocation, AllocationStatus, Offer

TAGS = ["market"]


class OfferSerializer(serializers.ModelSerializer):
    host = serializers.IntegerField(source="host_id", read_only=True)
    host_name = serializers.SerializerMethodField()
    community = serializers.IntegerField(source="community_id", read_only=True)
    metering_point = serializers.IntegerField(source="metering_point_id", read_only=True)
    remaining_kwh = serializers.DecimalField(max_digits=14, decimal_places=6, read_only=True, allow_null=True)
    is_mine = serializers.SerializerMethodField()

    class Meta:
        model = Offer
        fields = [
            "id",
            "community",
            "host",
            "host_name",
            "metering_point",
            "price_eur_per_kwh",
            "valid_from",
            "valid_to",
            "cap_kwh",
            "delivered_kwh",
            "remaining_kwh",
            "status",
            "withdrawn_at",
            "note",
            "created_at",
            "is_mine",
        ]
        read_only_fields = fields

    def get_host_name(self, obj) -> str:
        return obj.host.full_name or obj.host.username

    def get_is_mine(self, obj) -> bool:
        request = self.context.get("request")
        return bool(request and obj.host_id == request.user.pk)


class OfferCreateSerializer(serializers.Serializer):
    community = serializers.IntegerField()
    metering_point = serializers.IntegerField(help_text="Your injecting metering point in the community.")
    price_eur_per_kwh = serializers.CharField(
        help_text='Decimal string, e.g. "0.12"; > 0, at most 6 decimals.'
    )
    valid_from = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: now.")
    valid_to = serializers.DateTimeField()
    cap_kwh = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Optional total cap (kWh), > 0."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class SuspensionSerializer(serializers.Serializer):
    interval_start = serializers.DateTimeField()
    energy_kwh = serializers.DecimalField(max_digits=14, decimal_places=6)
    amount_due_eur = serializers.DecimalField(max_digits=14, decimal_places=2)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class AllocationSerializer(serializers.ModelSerializer):
    offer = serializers.IntegerField(source="offer_id", read_only=True)
    buyer = serializers.IntegerField(source="buyer_id", read_only=True)
    metering_point = serializers.IntegerField(source="metering_point_id", read_only=True)
    price_eur_per_kwh = serializers.DecimalField(
        source="offer.price_eur_per_kwh", max_digits=10, decimal_places=6, read_only=True
    )
    suspension = serializers.SerializerMethodField()

    class Meta:
        model = Allocation
        fields = [
            "id",
            "offer",
            "buyer",
            "metering_point",
            "price_eur_per_kwh",
            "max_kwh",
            "delivered_kwh",
            "status",
            "created_at",
            "ended_at",
            "suspension",
        ]
        read_only_fields = fields

    @extend_schema_field(SuspensionSerializer(allow_null=True))
    def get_suspension(self, obj):
        suspension = getattr(obj, "suspension", None) if obj.status == AllocationStatus.SUSPENDED else None
        return SuspensionSerializer(suspension).data if suspension is not None else None


class AllocationCreateSerializer(serializers.Serializer):
    offer = serializers.IntegerField()
    metering_point = serializers.IntegerField(
        required=False, allow_null=True, help_text="Your withdrawal point; default: your first one."
    )
    max_kwh = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Optional total maximum (kWh), > 0."
    )


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    allocation = serializers.IntegerField(source="allocation_id")
    offer = serializers.IntegerField(source="offer_id")
    community = serializers.IntegerField(source="community_id")
    host = serializers.IntegerField(source="host_id")
    buyer = serializers.IntegerField(source="buyer_id")
    interval_start = serializers.DateTimeField()
    interval_end = serializers.DateTimeField()
    energy_kwh = serializers.DecimalField(max_digits=14, decimal_places=6)
    price_eur_per_kwh = serializers.DecimalField(max_digits=10, decimal_places=6)
    amount_eur = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="To the host.")
    fee_eur = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="To the platform.")
    total_eur = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Paid by the buyer.")
    fee_pct = serializers.DecimalField(max_digits=6, decimal_places=3)
    rule = serializers.CharField()
    inputs = serializers.DictField()
    posting = serializers.IntegerField(source="posting_id", allow_null=True)


ROLE_PARAM = OpenApiParameter("role", str, enum=["buyer", "host"], description="Only as buyer / as host.")


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(tags=TAGS)
class OfferListCreateApi(generics.ListAPIView):
    """Offers of your communities (newest first). Filters: `community`, `mine=1`, `open=1`
    (open now). POST publishes one (you: a member with an injecting point in a p2p community)."""

    serializer_class = OfferSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("community", int),
            OpenApiParameter("mine", bool),
            OpenApiParameter("open", bool),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        from django.utils import timezone

        params = self.request.query_params
        community = params.get("community")
        return selectors.offers_list(
            user=self.request.user,
            community_id=int(community) if community and community.isdigit() else None,
            mine=params.get("mine") in ("1", "true"),
            open_at=timezone.now() if params.get("open") in ("1", "true") else None,
        )

    @extend_schema(request=OfferCreateSerializer, responses={201: OfferSerializer})
    def post(self, request):
        data = _valid(OfferCreateSerializer, request)
        offer = services.offer_create(
            actor=request.user,
            community_id=data["community"],
            metering_point_id=data["metering_point"],
            price_eur_per_kwh=data["price_eur_per_kwh"],
            valid_from=data.get("valid_from"),
            valid_to=data["valid_to"],
            cap_kwh=data.get("cap_kwh"),
            note=data.get("note", ""),
        )
        return Response(
            OfferSerializer(offer, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=TAGS)
class OfferDetailApi(APIView):
    """One offer of your communities."""

    @extend_schema(responses=OfferSerializer)
    def get(self, request, pk):
        offer = get_visible(Offer.objects, request.user, pk=pk)
        return Response(OfferSerializer(offer, context={"request": request}).data)


@extend_schema(tags=TAGS)
class OfferWithdrawApi(APIView):
    """Withdraw your offer from now on (intervals before now still settle). Idempotent."""

    @extend_schema(request=None, responses=OfferSerializer)
    def post(self, request, pk):
        offer = services.offer_withdraw(actor=request.user, offer_id=pk)
        return Response(OfferSerializer(offer, context={"request": request}).data)


@extend_schema(tags=TAGS)
class AllocationListCreateApi(generics.ListAPIView):
    """Allocations you took, and those on your offers (`role=buyer|host`, `status`).
    POST takes one on an open offer of your community."""

    serializer_class = AllocationSerializer

    @extend_schema(parameters=[ROLE_PARAM, OpenApiParameter("status", str, enum=AllocationStatus.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.allocations_list(
            user=self.request.user, role=params.get("role"), status=params.get("status")
        )

    @extend_schema(request=AllocationCreateSerializer, responses={201: AllocationSerializer})
    def post(self, request):
        data = _valid(AllocationCreateSerializer, request)
        allocation = services.allocation_create(
            actor=request.user,
            offer_id=data["offer"],
            metering_point_id=data.get("metering_point"),
            max_kwh=data.get("max_kwh"),
        )
        return Response(AllocationSerializer(allocation).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class AllocationDetailApi(APIView):
    """One allocation you took or that is on your offer."""

    @extend_schema(responses=AllocationSerializer)
    def get(self, request, pk):
        allocation = get_visible(Allocation.objects, request.user, pk=pk)
        return Response(AllocationSerializer(allocation).data)


@extend_schema(tags=TAGS)
class AllocationCancelApi(APIView):
    """Cancel your allocation from now on. Idempotent."""

    @extend_schema(request=None, responses=AllocationSerializer)
    def post(self, request, pk):
        allocation = services.allocation_cancel(actor=request.user, allocation_id=pk)
        return Response(AllocationSerializer(allocation).data)


@extend_schema(tags=TAGS)
class DeliveryListApi(generics.ListAPIView):
    """Your deliveries (as buyer or host), newest first: energy, price, amount, fee, and the
    rule and interval inputs that produced them. Filters: `role`, `from`, `to` (ISO)."""

    serializer_class = DeliverySerializer

    @extend_schema(parameters=[ROLE_PARAM, OpenApiParameter("from", str), OpenApiParameter("to", str)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        from billing.selectors import parse_when

        params = self.request.query_params
        return selectors.deliveries_list(
            user=self.request.user,
            role=params.get("role"),
            start=parse_when(params.get("from"), field="from"),
            end=parse_when(params.get("to"), field="to", end=True),
        )
