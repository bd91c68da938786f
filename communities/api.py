"""The communities API: thin views that validate, call one service or selector, serialize."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from communities import selectors, services
from communities.filters import (
    CommunityFilter,
    ConfigurationFilter,
    MembershipFilter,
    MeteringPointFilter,
    TransactionFilter,
)
from communities.geo import to_geojson
from communities.models import Community, EnergyTransaction, Membership, MeteringPoint
from communities.permissions import require_community_creator
from communities.serializers import (
    BoundaryFeatureSerializer,
    CommunitySerializer,
    CommunityUpdateResponseSerializer,
    CommunityWriteSerializer,
    ConfigurationCreateSerializer,
    ConfigurationSerializer,
    InvitedSerializer,
    MembershipCreateSerializer,
    MembershipCreateWithCommunitySerializer,
    MembershipLeaveSerializer,
    MembershipSerializer,
    MeteringPointCreateSerializer,
    MeteringPointSerializer,
    ParticipationFactorChangeSerializer,
    ParticipationFactorSerializer,
    TransactionCreateSerializer,
    TransactionSerializer,
)
from core.exceptions import Forbidden, Invalid
from core.scoping import get_manageable, get_visible, require_manageable

TAG_COMMUNITIES = ["communities"]


def _visible_community(request, pk) -> Community:
    return get_visible(Community.objects, request.user, pk=pk)


def _community_payload(request, community_id: int, serializer_class=CommunitySerializer, **extra):
    community = selectors.community_list(user=request.user).get(pk=community_id)
    for name, value in extra.items():
        setattr(community, name, value)
    managed = selectors.community_managed_ids(user=request.user)
    return serializer_class(community, context={"request": request, "managed_ids": managed}).data


@extend_schema(tags=TAG_COMMUNITIES)
class CommunityListCreateApi(generics.ListCreateAPIView):
    """Communities you can see. Those you manage come in full; the others (your communities
    as a member) only with their public facts: name, boundary, member count, installed kWp."""

    serializer_class = CommunitySerializer
    filterset_class = CommunityFilter
    ordering_fields = ["name", "created_at", "member_count", "installed_kwp", "id"]
    ordering = ["name", "id"]
    search_fields = ["name", "slug"]

    def get_queryset(self):
        return selectors.community_list(user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(),
                "managed_ids": selectors.community_managed_ids(user=self.request.user)}

    @extend_schema(request=CommunityWriteSerializer, responses={201: CommunitySerializer})
    def post(self, request):
        user = request.user
        require_community_creator(user)
        serializer = CommunityWriteSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if not user.is_platform_admin:
            org = data.get("organization")
            if org is not None and org.pk != user.organization_id:
                raise Forbidden(gettext("Vendors create communities in their own organization only."))
            data["organization"] = user.organization
        elif data.get("organization") is None:
            raise Invalid(gettext("organization: This field is required."),
                          details={"organization": ["This field is required."]})
        community = services.community_create(**data)
        return Response(_community_payload(request, community.pk), status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG_COMMUNITIES)
class CommunityDetailApi(generics.GenericAPIView):
    serializer_class = CommunitySerializer

    def get_queryset(self):
        return selectors.community_list(user=self.request.user)

    def get(self, request, pk):
        community = _visible_community(request, pk)
        return Response(_community_payload(request, community.pk))

    @extend_schema(request=CommunityWriteSerializer, responses={200: CommunityUpdateResponseSerializer})
    def put(self, request, pk):
        return self._update(request, pk, partial=False)

    @extend_schema(request=CommunityWriteSerializer, responses={200: CommunityUpdateResponseSerializer})
    def patch(self, request, pk):
        return self._update(request, pk, partial=True)

    def _update(self, request, pk, *, partial: bool):
        community = get_manageable(Community.objects, request.user, pk=pk,
                                   message=gettext("You can see this community but not change it."))
        serializer = CommunityWriteSerializer(community, data=request.data, partial=partial,
                                              context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        org = data.pop("organization", None)
        if org is not None and org.pk != community.organization_id:
            if not request.user.is_platform_admin:
                raise Forbidden(gettext("Only administrators move a community to another organization."))
            community.organization = org
        referents = data.pop("referents", None)
        result = services.community_update(community=community, referents=referents, **data)
        payload = _community_payload(request, community.pk, CommunityUpdateResponseSerializer,
                                     outside=result.outside)
        return Response(payload)


@extend_schema(tags=TAG_COMMUNITIES, responses={200: BoundaryFeatureSerializer})
class CommunityBoundaryApi(generics.GenericAPIView):
    """The community's boundary as a GeoJSON Feature (change it with PATCH /communities/{id})."""

    serializer_class = BoundaryFeatureSerializer

    def get(self, request, pk):
        community = _visible_community(request, pk)
        return Response({
            "type": "Feature", "id": community.pk, "geometry": to_geojson(community.boundary),
            "properties": {"name": community.name, "slug": community.slug},
        })


@extend_schema(tags=TAG_COMMUNITIES)
class CommunityMembersApi(generics.ListCreateAPIView):
    """Members of a community. Managers see them all; a member sees only their own row."""

    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    ordering_fields = ["joined_at", "left_at", "id", "status"]
    ordering = ["joined_at", "id"]
    search_fields = ["user__email", "user__full_name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        community = _visible_community(self.request, self.kwargs["pk"])
        return selectors.membership_list(user=self.request.user, community=community).prefetch_related(
            "metering_points")

    @extend_schema(request=MembershipCreateSerializer, responses={202: InvitedSerializer})
    def post(self, request, pk):
        community = _visible_community(request, pk)
        return _add_member(request, community, MembershipCreateSerializer)


def _add_member(request, community, serializer_class):
    """Staff invite; the person joins when they accept (issue 8: an existing account is never
    enrolled without its owner's consent). The answer is the same whether or not the email
    has an account, so it cannot be used to probe for accounts."""
    serializer = serializer_class(data=request.data, context={"request": request})
    if community is None:
        serializer.is_valid(raise_exception=True)
        community = serializer.validated_data.pop("community")
    else:
        serializer.is_valid(raise_exception=True)
    require_manageable(request.user, community,
                       message=gettext("You can see this community but not change it."))
    services.member_invite(actor=request.user, community=community, **serializer.validated_data)
    return Response({"status": "invited"}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAG_COMMUNITIES)
class CommunityMemberDetailApi(generics.GenericAPIView):
    serializer_class = MembershipSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        community = _visible_community(self.request, self.kwargs["pk"])
        return selectors.membership_list(user=self.request.user, community=community)

    def get(self, request, pk, membership_id):
        membership = get_object_or_404(self.get_queryset(), pk=membership_id)
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        request=MembershipLeaveSerializer, responses={200: MembershipSerializer},
        description="Remove a member: sets left_at (default today) and status left; the row stays.",
        parameters=[OpenApiParameter("left_at", str, description="YYYY-MM-DD, default today.")],
    )
    def delete(self, request, pk, membership_id):
        membership = get_object_or_404(self.get_queryset(), pk=membership_id)
        require_manageable(request.user, membership,
                           message=gettext("You can see this membership but not change it."))
        data = request.data if isinstance(request.data, dict) and request.data else request.query_params
        serializer = MembershipLeaveSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_leave(membership=membership, **serializer.validated_data)
        return Response(MembershipSerializer(membership).data)


@extend_schema(tags=TAG_COMMUNITIES)
class MemberParticipationFactorsApi(generics.GenericAPIView):
    """Austria: the dated versions of a membership's participation factor, and a change from
    a given day or quarter hour on (`membership_factor_change`)."""

    serializer_class = ParticipationFactorSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        community = _visible_community(self.request, self.kwargs["pk"])
        return selectors.membership_list(user=self.request.user, community=community)

    @extend_schema(responses={200: ParticipationFactorSerializer(many=True)})
    def get(self, request, pk, membership_id):
        membership = get_object_or_404(self.get_queryset(), pk=membership_id)
        versions = selectors.participation_factor_versions(membership=membership)
        return Response(ParticipationFactorSerializer(versions, many=True).data)

    @extend_schema(request=ParticipationFactorChangeSerializer,
                   responses={201: ParticipationFactorSerializer})
    def post(self, request, pk, membership_id):
        membership = get_object_or_404(self.get_queryset(), pk=membership_id)
        require_manageable(request.user, membership,
                           message=gettext("You can see this membership but not change it."))
        serializer = ParticipationFactorChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        version = services.membership_factor_change(actor=request.user, membership=membership,
                                                    **serializer.validated_data)
        return Response(ParticipationFactorSerializer(version).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG_COMMUNITIES)
class MemberListCreateApi(generics.ListCreateAPIView):
    """Memberships across your communities (a member: their own)."""

    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    ordering_fields = ["joined_at", "left_at", "id", "status", "community"]
    ordering = ["community", "joined_at", "id"]
    search_fields = ["user__email", "user__full_name"]

    def get_queryset(self):
        return selectors.membership_list(user=self.request.user).prefetch_related("metering_points")

    @extend_schema(request=MembershipCreateWithCommunitySerializer, responses={202: InvitedSerializer})
    def post(self, request):
        return _add_member(request, None, MembershipCreateWithCommunitySerializer)


@extend_schema(tags=TAG_COMMUNITIES)
class CommunityTransactionsApi(generics.ListCreateAPIView):
    serializer_class = TransactionSerializer
    filterset_class = TransactionFilter
    ordering_fields = ["interval_start", "energy_kwh", "id"]
    ordering = ["-interval_start", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EnergyTransaction.objects.none()
        community = _visible_community(self.request, self.kwargs["pk"])
        return selectors.transaction_list(user=self.request.user, community=community)

    @extend_schema(request=TransactionCreateSerializer, responses={201: TransactionSerializer})
    def post(self, request, pk):
        community = get_manageable(Community.objects, request.user, pk=pk,
                                   message=gettext("You can see this community but not change it."))
        serializer = TransactionCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 200:
            raise Invalid(gettext("Idempotency-Key is at most 200 characters."),
                          details={"idempotency_key": ["At most 200 characters."]})
        tx = services.transaction_create(community=community, actor=request.user, idempotency_key=key,
                                         **serializer.validated_data)
        return Response(TransactionSerializer(tx).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG_COMMUNITIES)
class TransactionListApi(generics.ListAPIView):
    """Energy sharing transactions you can see (a member: those from or to them)."""

    serializer_class = TransactionSerializer
    filterset_class = TransactionFilter
    ordering_fields = ["interval_start", "energy_kwh", "id"]
    ordering = ["-interval_start", "id"]

    def get_queryset(self):
        return selectors.transaction_list(user=self.request.user)


@extend_schema(tags=TAG_COMMUNITIES)
class ConfigurationListCreateApi(generics.ListCreateAPIView):
    serializer_class = ConfigurationSerializer
    filterset_class = ConfigurationFilter
    ordering_fields = ["valid_from", "id", "community"]
    ordering = ["community", "-valid_from", "id"]
    search_fields = ["name"]

    def get_queryset(self):
        return selectors.configuration_list(user=self.request.user)

    @extend_schema(request=ConfigurationCreateSerializer, responses={201: ConfigurationSerializer})
    def post(self, request):
        serializer = ConfigurationCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        require_manageable(request.user, data["community"],
                           message=gettext("You can see this community but not change it."))
        config = services.configuration_create(**data)
        return Response(ConfigurationSerializer(config).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG_COMMUNITIES)
class MeteringPointListCreateApi(generics.ListCreateAPIView):
    serializer_class = MeteringPointSerializer
    filterset_class = MeteringPointFilter
    ordering_fields = ["code", "created_at", "id"]
    ordering = ["code"]
    search_fields = ["code", "meter_serial"]

    def get_queryset(self):
        return selectors.metering_point_list(user=self.request.user)

    @extend_schema(request=MeteringPointCreateSerializer, responses={201: MeteringPointSerializer})
    def post(self, request):
        serializer = MeteringPointCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        membership: Membership = data.pop("membership")
        require_manageable(request.user, membership,
                           message=gettext("You can see this membership but not change it."))
        point = services.metering_point_create(membership=membership, **data)
        return Response(MeteringPointSerializer(point).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG_COMMUNITIES)
class MeteringPointDetailApi(generics.RetrieveAPIView):
    serializer_class = MeteringPointSerializer

    def get_queryset(self):
        return selectors.metering_point_list(user=self.request.user)

    def get_object(self) -> MeteringPoint:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
