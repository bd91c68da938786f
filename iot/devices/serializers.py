"""Serializers of the device registry API. The secret appears only in the answer of
register / create / rotate-secret (`DeviceSecretSerializer`)."""

from rest_framework import serializers

from communities.models import Community, MeteringPoint
from iot.bridges.mqtt_auth import ACK_TOPIC, COMMANDS_TOPIC, TELEMETRY_TOPIC
from iot.models import Device, DeviceCommand, DeviceKind, Protocol
from plants.models import Plant

MANAGERS_ONLY = ("connection", "last_error")


class DeviceSerializer(serializers.ModelSerializer):
    """`connection` and `last_error` (they name internal hosts) are answered only to those who
    manage the device; others get neither key. The caller comes from the `request` in the
    context (none: the service itself, e.g. right after a create by its manager)."""

    status = serializers.CharField(read_only=True, help_text="online, offline or error (derived).")
    topics = serializers.SerializerMethodField()

    def _manageable_ids(self) -> set[int] | None:
        request = self.context.get("request")
        if request is None:
            return None
        if "_manageable_device_ids" not in self.context:  # once per answer, shared by a list
            self.context["_manageable_device_ids"] = set(
                Device.objects.managed_by(request.user).values_list("pk", flat=True))
        return self.context["_manageable_device_ids"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        manageable = self._manageable_ids()
        if manageable is not None and instance.pk not in manageable:
            for name in MANAGERS_ONLY:
                data.pop(name, None)
        return data

    class Meta:
        model = Device
        fields = ["id", "serial", "name", "kind", "protocol", "plant", "metering_point", "community",
                  "connection", "poll_interval_s", "expected_interval_s", "is_active", "status",
                  "last_seen", "last_error", "last_error_at", "secret_rotated_at", "topics",
                  "created_at", "updated_at"]
        read_only_fields = fields

    def get_topics(self, device) -> dict:
        return {"telemetry": TELEMETRY_TOPIC.format(serial=device.serial),
                "commands": COMMANDS_TOPIC.format(serial=device.serial),
                "commands_ack": ACK_TOPIC.format(serial=device.serial)}


class DeviceSecretSerializer(DeviceSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: store it on the device.")

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class DeviceWriteSerializer(serializers.Serializer):
    """Plant, metering point and community are looked up among what the caller can see."""

    serial = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=DeviceKind.choices)
    protocol = serializers.ChoiceField(choices=Protocol.choices, default=Protocol.MQTT)
    plant = serializers.PrimaryKeyRelatedField(queryset=Plant.objects.none(), required=False, allow_null=True)
    metering_point = serializers.PrimaryKeyRelatedField(queryset=MeteringPoint.objects.none(),
                                                        required=False, allow_null=True)
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.none(), required=False,
                                                   allow_null=True,
                                                   help_text="Only for devices with neither plant nor POD.")
    connection = serializers.JSONField(required=False, default=dict)
    poll_interval_s = serializers.IntegerField(min_value=1, max_value=86400, default=60)
    expected_interval_s = serializers.IntegerField(min_value=1, max_value=7 * 86400, default=60)
    is_active = serializers.BooleanField(default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")  # absent when the OpenAPI schema is generated
        user = request.user if request is not None else None
        self.fields["plant"].queryset = Plant.objects.visible_to(user)
        self.fields["metering_point"].queryset = MeteringPoint.objects.visible_to(user)
        self.fields["community"].queryset = Community.objects.visible_to(user)
        if self.instance is not None:
            self.fields["serial"].read_only = True  # the MQTT username and topic: fixed

    def validate_connection(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("An object is required.")
        return value


class DeviceCommandSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="command_id", read_only=True)
    device = serializers.IntegerField(source="device_id", read_only=True)

    class Meta:
        model = DeviceCommand
        fields = ["id", "device", "command", "payload", "status", "created_at", "sent_at", "acked_at",
                  "response", "error"]
        read_only_fields = fields


class DeviceCommandWriteSerializer(serializers.Serializer):
    command = serializers.RegexField(r"^[a-z][a-z0-9_]{0,63}$", help_text="e.g. set_power_limit, reboot")
    payload = serializers.JSONField(required=False, default=dict)

    def validate_payload(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("An object is required.")
        return value
