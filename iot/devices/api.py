"""The device registry API (DRF): list, create/register, read, update, rotate the secret, send
a command. Reads are scoped by `Device.objects.visible_to` (out of scope = 404); writes need
staff rights over the device's community (403 otherwise)."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from communities.models import Community, MeteringPoint
from core.scoping import require_manageable
from iot.devices import commands, selectors, services
from iot.devices.serializers import (
    DeviceCommandSerializer,
    DeviceCommandWriteSerializer,
    DeviceSecretSerializer,
    DeviceSerializer,
    DeviceWriteSerializer,
)
from iot.models import Device
from plants.models import Plant

TAGS = ["iot devices"]


def _require_manager(user, device: Device) -> None:
    require_manageable(user, device, message=gettext("You can see this device but not change it."))


class DeviceFilter(filters.FilterSet):
    """Foreign-key filters choose among what the caller can see: another tenant's id and a
    missing one get the same 400."""

    plant = filters.ModelChoiceFilter(queryset=lambda request: Plant.objects.visible_to(_user(request)))
    metering_point = filters.ModelChoiceFilter(
        queryset=lambda request: MeteringPoint.objects.visible_to(_user(request)))
    community = filters.ModelChoiceFilter(
        queryset=lambda request: Community.objects.visible_to(_user(request)))

    class Meta:
        model = Device
        fields = ["kind", "protocol", "plant", "metering_point", "community", "is_active"]


def _user(request):
    return getattr(request, "user", None)


def _with_secret(device: Device, secret: str) -> dict:
    device.secret = secret
    return DeviceSecretSerializer(device).data


@extend_schema(tags=TAGS)
class DeviceListCreateApi(generics.ListAPIView):
    """Devices you can see. `POST` registers one and answers its secret, once."""

    serializer_class = DeviceSerializer
    filterset_class = DeviceFilter
    ordering_fields = ["serial", "name", "last_seen", "id"]
    search_fields = ["serial", "name"]

    def get_queryset(self):
        return selectors.device_list(user=self.request.user)

    @extend_schema(request=DeviceWriteSerializer, responses={
        201: DeviceSecretSerializer,
        409: OpenApiResponse(description="A device with this serial already exists (error envelope)")})
    def post(self, request):
        serializer = DeviceWriteSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["connection_settings"] = data.pop("connection")
        device, secret = services.device_create(user=request.user, **data)
        return Response(_with_secret(device, secret), status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class DeviceRegisterApi(DeviceListCreateApi):
    """`POST /iot/devices/register` (seed 004's path): same as `POST /iot/devices`."""

    http_method_names = ["post", "options"]


@extend_schema(tags=TAGS)
class DeviceDetailApi(generics.GenericAPIView):
    serializer_class = DeviceSerializer

    def get_queryset(self):
        return selectors.device_list(user=self.request.user)

    def get(self, request, pk):
        device = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(DeviceSerializer(device, context={"request": request}).data)

    @extend_schema(request=DeviceWriteSerializer, responses={200: DeviceSerializer})
    def put(self, request, pk):
        return self._update(request, pk, partial=False)

    @extend_schema(request=DeviceWriteSerializer, responses={200: DeviceSerializer})
    def patch(self, request, pk):
        return self._update(request, pk, partial=True)

    def _update(self, request, pk, *, partial: bool):
        device = get_object_or_404(self.get_queryset(), pk=pk)
        _require_manager(request.user, device)
        serializer = DeviceWriteSerializer(device, data=request.data, partial=partial,
                                           context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("serial", None)
        if "connection" in data:
            data["connection_settings"] = data.pop("connection")
        device = services.device_update(device=device, user=request.user, **data)
        return Response(DeviceSerializer(device, context={"request": request}).data)


@extend_schema(tags=TAGS)
class DeviceRotateSecretApi(APIView):
    """Issue a new secret (answered once); the old one stops working."""

    @extend_schema(request=None, responses={200: DeviceSecretSerializer})
    def post(self, request, pk):
        device = get_object_or_404(selectors.device_list(user=request.user), pk=pk)
        _require_manager(request.user, device)
        secret = services.device_rotate_secret(device=device)
        return Response(_with_secret(device, secret))


@extend_schema(tags=TAGS)
class DeviceCommandApi(APIView):
    """`POST`: send a command on `devices/<serial>/commands` (202; its status becomes
    acknowledged when the device answers on `devices/<serial>/commands/ack`). `GET`: the
    device's commands, newest first."""

    @extend_schema(responses={200: DeviceCommandSerializer(many=True)})
    def get(self, request, pk):
        device = get_object_or_404(selectors.device_list(user=request.user), pk=pk)
        items = selectors.device_commands(device=device)[:100]
        return Response({"items": DeviceCommandSerializer(items, many=True).data})

    @extend_schema(request=DeviceCommandWriteSerializer, responses={202: DeviceCommandSerializer})
    def post(self, request, pk):
        device = get_object_or_404(selectors.device_list(user=request.user), pk=pk)
        _require_manager(request.user, device)
        serializer = DeviceCommandWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cmd = commands.device_command_send(device=device, user=request.user, **serializer.validated_data)
        return Response(DeviceCommandSerializer(cmd).data, status=status.HTTP_202_ACCEPTED)
