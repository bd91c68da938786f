"""The notifications API: your own notifications, your choices, your browsers."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import Invalid
from core.pagination import ItemsPagination, page_of
from notifications import selectors, services
from notifications.models import Channel, NotificationKind

TAGS = ["notifications"]


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    data = serializers.JSONField()
    urgent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


def _invalid(serializer) -> None:
    if not serializer.is_valid():
        raise Invalid(details=serializer.errors)


@extend_schema(tags=TAGS)
class NotificationsApi(APIView):
    """Your notifications, newest first (`?unread=1`: only unread); `unread` is the count."""

    @extend_schema(operation_id="notifications_list",
                   responses=page_of(NotificationSerializer, "NotificationPage",
                                     unread=serializers.IntegerField()),
                   parameters=[OpenApiParameter("unread", bool)])
    def get(self, request):
        unread_only = request.query_params.get("unread") in ("1", "true")
        paginator = ItemsPagination()
        page = paginator.paginate_queryset(
            selectors.notifications_list(user=request.user, unread_only=unread_only), request, self)
        response = paginator.get_paginated_response(NotificationSerializer(page, many=True).data)
        response.data["unread"] = selectors.unread_count(user=request.user)
        return response


@extend_schema(tags=TAGS)
class NotificationReadApi(APIView):
    """Mark one of your notifications read (someone else's: 404)."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request, pk: int):
        with transaction.atomic():
            notification = services.notification_mark_read(user=request.user, notification_id=pk)
        return Response(NotificationSerializer(notification).data)


@extend_schema(tags=TAGS)
class NotificationsReadAllApi(APIView):
    """Mark all your notifications read."""

    @extend_schema(request=None, responses=inline_serializer("ReadAll", {
        "marked": serializers.IntegerField(), "unread": serializers.IntegerField()}))
    def post(self, request):
        with transaction.atomic():
            count = services.notifications_mark_all_read(user=request.user)
        return Response({"marked": count, "unread": 0})


class QuietHoursSerializer(serializers.Serializer):
    start = serializers.TimeField(format="%H:%M")
    end = serializers.TimeField(format="%H:%M")


class PreferencesSerializer(serializers.Serializer):
    channels = serializers.DictField(child=serializers.DictField(child=serializers.BooleanField()),
                                     required=False)
    quiet_hours = QuietHoursSerializer(allow_null=True, required=False)
    time_zone = serializers.CharField(allow_blank=True, max_length=64, required=False)
    phone_e164 = serializers.CharField(allow_blank=True, max_length=16, required=False)


@extend_schema(tags=TAGS)
class PreferencesApi(APIView):
    """Your choices: `channels` {kind: {channel: bool}} (in_app is always on), quiet hours
    (local `HH:MM` start and end; null: none), time zone (blank: your community's) and
    the phone number for SMS (E.164). PUT replaces what it names."""

    def _answer(self, user):
        data = selectors.preferences_get(user=user)
        data["kinds"] = NotificationKind.values
        data["channel_names"] = Channel.values
        data["vapid_public_key"] = settings.VAPID_PUBLIC_KEY
        return Response(data)

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request):
        return self._answer(request.user)

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def put(self, request):
        serializer = PreferencesSerializer(data=request.data)
        _invalid(serializer)
        data = serializer.validated_data
        quiet = data.get("quiet_hours")
        services.preferences_update(
            user=request.user, channels=data.get("channels"),
            quiet_hours_given="quiet_hours" in data,
            quiet_start=quiet["start"] if quiet else None, quiet_end=quiet["end"] if quiet else None,
            time_zone=data.get("time_zone"), phone_e164=data.get("phone_e164"))
        return self._answer(request.user)


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


class PushSubscriptionSerializer(serializers.Serializer):
    endpoint = serializers.URLField(max_length=1000)
    keys = PushKeysSerializer()


class PushEndpointSerializer(serializers.Serializer):
    endpoint = serializers.URLField(max_length=1000)


@extend_schema(tags=TAGS)
class PushSubscriptionsApi(APIView):
    """Subscribe this browser to web push (the PushSubscription JSON), or unsubscribe it."""

    @extend_schema(request=PushSubscriptionSerializer, responses={201: inline_serializer(
        "PushSubscriptionCreated", {"id": serializers.IntegerField(), "endpoint": serializers.URLField()})})
    def post(self, request):
        serializer = PushSubscriptionSerializer(data=request.data)
        _invalid(serializer)
        data = serializer.validated_data
        subscription = services.push_subscription_save(
            user=request.user, endpoint=data["endpoint"], p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"], user_agent=request.headers.get("User-Agent", ""))
        return Response({"id": subscription.pk, "endpoint": subscription.endpoint},
                        status=status.HTTP_201_CREATED)

    # OpenAPI 3.0 tools leave a DELETE's body out of the schema: document its 400 here.
    @extend_schema(request=PushEndpointSerializer, responses={
        204: None, 400: OpenApiResponse(description="No or invalid `endpoint` (error envelope)"), 404: None})
    def delete(self, request):
        serializer = PushEndpointSerializer(data=request.data)
        _invalid(serializer)
        endpoint = serializer.validated_data["endpoint"]
        deleted = services.push_subscription_delete(user=request.user, endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT if deleted else status.HTTP_404_NOT_FOUND)


@csrf_exempt
@require_POST
def twilio_status_callback(request):
    """Twilio's delivery report for an SMS (StatusCallback), signed with X-Twilio-Signature
    over SITE_URL + this path and the form parameters. 403 when the signature is wrong."""
    from notifications.senders.sms import twilio_signature_valid

    params = {key: request.POST.get(key) for key in request.POST}
    url = f"{settings.SITE_URL}{request.get_full_path()}"
    if not twilio_signature_valid(auth_token=settings.TWILIO_AUTH_TOKEN, url=url, params=params,
                                  signature=request.headers.get("X-Twilio-Signature", "")):
        return HttpResponse(status=403)
    services.sms_status_record(message_sid=params.get("MessageSid", ""),
                               status=params.get("MessageStatus", ""),
                               error_code=params.get("ErrorCode", ""))
    return HttpResponse(status=204)
