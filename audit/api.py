"""`GET /api/v1/audit`: the audit log, admins only (403 for everyone else)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from audit import selectors
from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "action", "object_type", "object_id",
                  "target_user", "request_id", "detail"]
        read_only_fields = fields


class AuditFilterSerializer(serializers.Serializer):
    target_user = serializers.IntegerField(required=False)
    actor = serializers.IntegerField(required=False)
    action = serializers.CharField(required=False, max_length=64)
    object_type = serializers.CharField(required=False, max_length=64)
    since = serializers.DateTimeField(required=False)


class AuditListView(GenericAPIView):
    serializer_class = AuditEventSerializer
    filter_backends = []

    @extend_schema(tags=["audit"], parameters=[AuditFilterSerializer],
                   responses={200: AuditEventSerializer(many=True)},
                   summary="Audit log of staff actions on people and money (admins only)")
    def get(self, request):
        query = AuditFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        filters["actor_id"] = filters.pop("actor", None)
        events = selectors.audit_list(actor=request.user, **filters)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)
