"""Privacy API: consent, GDPR export and erasure, API keys (README, Privacy).

The consent, export and erasure endpoints only need a signed-in user: a person exercises
these rights whether or not they accepted the policy in force.
"""

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.scoping import get_visible
from privacy import apikeys, consent, erasure, export
from privacy.models import ApiKey, ApiKeyAccess, ErasureRequest, ExportJob


class _Rights(APIView):
    permission_classes = [IsAuthenticated]


# --- consent --------------------------------------------------------------------------


class ConsentStateSerializer(serializers.Serializer):
    current_version = serializers.CharField(allow_null=True)
    current_url = serializers.CharField()
    current_summary = serializers.CharField()
    accepted_version = serializers.CharField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    required = serializers.BooleanField()


class ConsentAcceptSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=32)


class ConsentView(_Rights):
    @extend_schema(tags=["privacy"], responses={200: ConsentStateSerializer},
                   summary="The policy in force and what the caller accepted")
    def get(self, request):
        return Response(ConsentStateSerializer(consent.consent_state(user=request.user)).data)

    @extend_schema(tags=["privacy"], request=ConsentAcceptSerializer,
                   responses={200: ConsentStateSerializer,
                              400: OpenApiResponse(description="Not the version in force")},
                   summary="Accept the privacy policy version in force")
    def post(self, request):
        data = ConsentAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent.consent_accept(user=request.user, version=data.validated_data["version"])
        return Response(ConsentStateSerializer(consent.consent_state(user=request.user)).data)

    @extend_schema(tags=["privacy"], responses={200: ConsentStateSerializer},
                   summary="Withdraw consent (the API then answers 403 ConsentRequired)")
    def delete(self, request):
        consent.consent_withdraw(user=request.user)
        return Response(ConsentStateSerializer(consent.consent_state(user=request.user)).data)


# --- export -----------------------------------------------------------------------------


class ExportJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExportJob
        fields = ["id", "subject", "status", "size_bytes", "created_at", "finished_at"]
        read_only_fields = fields


class ExportStartSerializer(serializers.Serializer):
    user = serializers.IntegerField(required=False, help_text="Staff: a person you manage.")


class ExportView(_Rights):
    def _start(self, request, data):
        query = ExportStartSerializer(data=data)
        query.is_valid(raise_exception=True)
        subject = None
        if "user" in query.validated_data:
            subject = get_visible(User.objects.all(), request.user, pk=query.validated_data["user"])
        job = export.export_request(actor=request.user, subject=subject)
        return Response(ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(tags=["privacy"], parameters=[ExportStartSerializer],
                   responses={202: ExportJobSerializer, 404: OpenApiResponse(description="Outside scope"),
                              409: OpenApiResponse(description="An export is already running")},
                   summary="Start an export of your data (staff: ?user= of a person you manage)")
    def get(self, request):
        return self._start(request, request.query_params)

    @extend_schema(tags=["privacy"], request=ExportStartSerializer,
                   responses={202: ExportJobSerializer, 404: OpenApiResponse(description="Outside scope"),
                              409: OpenApiResponse(description="An export is already running")},
                   summary="Start an export (same as GET)")
    def post(self, request):
        return self._start(request, request.data)


class ExportStatusView(_Rights):
    @extend_schema(tags=["privacy"], responses={200: ExportJobSerializer}, summary="An export's status",
                   operation_id="users_profile_export_status")
    def get(self, request, job_id):
        return Response(ExportJobSerializer(export.export_get(actor=request.user, job_id=job_id)).data)


class ExportDownloadView(_Rights):
    @extend_schema(tags=["privacy"], responses={(200, "application/zip"): OpenApiResponse(description="ZIP")},
                   summary="Download a finished export (the emailed link; signed in as the requester)")
    def get(self, request, job_id):
        job = export.export_for_download(actor=request.user, job_id=job_id,
                                         token=str(request.query_params.get("token", "")))
        return FileResponse(open(export.export_path(job), "rb"), as_attachment=True,
                            filename=f"commonwatt-export-{job.pk}.zip", content_type="application/zip")


# --- erasure ----------------------------------------------------------------------------


class ErasureRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ErasureRequest
        fields = ["id", "subject", "status", "requested_at", "decided_by", "decided_at"]
        read_only_fields = fields


class ErasureView(_Rights):
    @extend_schema(tags=["privacy"], request=None, responses={202: ErasureRequestSerializer},
                   summary="Ask to be erased (someone who manages you confirms)")
    def post(self, request):
        return Response(ErasureRequestSerializer(erasure.erasure_request(user=request.user)).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(tags=["privacy"], responses={204: None}, summary="Cancel your pending erasure request")
    def delete(self, request):
        erasure.erasure_cancel(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ErasureStaffListView(GenericAPIView):
    serializer_class = ErasureRequestSerializer
    filter_backends = []

    @extend_schema(tags=["privacy"], responses={200: ErasureRequestSerializer(many=True)},
                   summary="Erasure requests of people you manage (staff)")
    def get(self, request):
        items = erasure.erasure_list(actor=request.user, status=request.query_params.get("status", ""))
        page = self.paginate_queryset(items)
        return self.get_paginated_response(ErasureRequestSerializer(page, many=True).data)


class ErasureConfirmView(APIView):
    @extend_schema(tags=["privacy"], request=None, responses={200: ErasureRequestSerializer},
                   summary="Confirm an erasure request: the person is erased now (audited)")
    def post(self, request, request_id):
        return Response(ErasureRequestSerializer(
            erasure.erasure_confirm(actor=request.user, request_id=request_id)).data)


class ErasureRejectView(APIView):
    @extend_schema(tags=["privacy"], request=None, responses={200: ErasureRequestSerializer},
                   summary="Reject an erasure request (audited)")
    def post(self, request, request_id):
        return Response(ErasureRequestSerializer(
            erasure.erasure_reject(actor=request.user, request_id=request_id)).data)


# --- API keys ---------------------------------------------------------------------------


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "access", "organization", "created_by", "expires_at",
                  "last_used_at", "revoked_at", "created_at"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    access = serializers.ChoiceField(choices=ApiKeyAccess.choices, default=ApiKeyAccess.READ)
    organization = serializers.IntegerField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The full key: shown this once, never again.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyListView(GenericAPIView):
    serializer_class = ApiKeySerializer
    filter_backends = []

    @extend_schema(tags=["api-keys"], responses={200: ApiKeySerializer(many=True)},
                   summary="API keys you may manage (staff)")
    def get(self, request):
        page = self.paginate_queryset(apikeys.api_key_list(actor=request.user))
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    @extend_schema(tags=["api-keys"], request=ApiKeyCreateSerializer,
                   responses={201: ApiKeyCreatedSerializer},
                   summary="Create an API key; the answer carries the full key once")
    def post(self, request):
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["organization_id"] = fields.pop("organization", None)
        key, full = apikeys.api_key_create(actor=request.user, **fields)
        key.key = full
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    @extend_schema(tags=["api-keys"], responses={200: ApiKeySerializer}, summary="Revoke an API key")
    def delete(self, request, key_id):
        return Response(ApiKeySerializer(apikeys.api_key_revoke(actor=request.user, key_id=key_id)).data)
