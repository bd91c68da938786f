"""Shapes of the accounts API: validation of input types, representation of users."""

import json

from rest_framework import serializers

from accounts.models import MemberType, Role, User, UserStatus, UserType


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class UserSerializer(serializers.ModelSerializer):
    organization = OrganizationRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "email", "username", "full_name", "fiscal_code", "role", "member_type",
                  "user_type", "status", "organization", "address", "preferences", "is_active",
                  "is_verified", "created_at", "updated_at"]
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    privacy_policy_version = serializers.CharField(
        required=False, allow_blank=True, max_length=32, default="",
        help_text="The privacy policy version the person accepts (required once one is published).")


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    user = UserSerializer()


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class AccessRefreshSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class OAuth2FormSerializer(serializers.Serializer):
    """OAuth2 password grant form (application/x-www-form-urlencoded): username is the email."""

    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})
    grant_type = serializers.CharField(required=False, allow_blank=True)
    scope = serializers.CharField(required=False, allow_blank=True)


class BearerTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")


class VerifyEmailQuerySerializer(serializers.Serializer):
    token = serializers.CharField()


class PasswordResetRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetSerializer(serializers.Serializer):
    token = serializers.CharField()
    new_password = serializers.CharField(style={"input_type": "password"})


class LoginLinkSerializer(serializers.Serializer):
    token = serializers.CharField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class UserFilterSerializer(serializers.Serializer):
    type_filter = serializers.ChoiceField(MemberType.choices, required=False,
                                          help_text="Member type: consumer, producer, prosumer.")
    user_type = serializers.ChoiceField(UserType.choices, required=False)
    status = serializers.ChoiceField(UserStatus.choices, required=False)
    role = serializers.ChoiceField(Role.choices, required=False)
    search = serializers.CharField(required=False, max_length=200,
                                   help_text="Matches full name, email, username or fiscal code.")


class UserCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(required=False, allow_blank=True, write_only=True,
                                     help_text="Optional: without it the user is invited by email.")
    username = serializers.CharField(required=False, allow_blank=True, max_length=150)
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    fiscal_code = serializers.CharField(required=False, allow_blank=True, max_length=16)
    role = serializers.ChoiceField(Role.choices, default=Role.USER)
    member_type = serializers.ChoiceField(MemberType.choices, required=False)
    user_type = serializers.ChoiceField(UserType.choices, default=UserType.REAL)
    status = serializers.ChoiceField(UserStatus.choices, required=False)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    preferences = serializers.JSONField(required=False)
    organization = serializers.IntegerField(required=False, allow_null=True,
                                            help_text="Organization id (vendors: their own).")
    community = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="Community id the user joins; required for vendors and referents "
                  "creating members or referents.",
    )

    def validate_preferences(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        if "\\u0000" in json.dumps(value):  # PostgreSQL jsonb refuses NUL characters
            raise serializers.ValidationError("Must not contain NUL characters.")
        return value


class UserUpdateSerializer(serializers.Serializer):
    """PUT needs email and full_name; PATCH any subset. Unknown fields are ignored."""

    email = serializers.EmailField()
    full_name = serializers.CharField(allow_blank=True, max_length=200)
    username = serializers.CharField(required=False, max_length=150)
    fiscal_code = serializers.CharField(required=False, allow_blank=True, max_length=16)
    role = serializers.ChoiceField(Role.choices, required=False)
    member_type = serializers.ChoiceField(MemberType.choices, required=False)
    user_type = serializers.ChoiceField(UserType.choices, required=False)
    status = serializers.ChoiceField(UserStatus.choices, required=False)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    preferences = serializers.JSONField(required=False)
    organization = serializers.IntegerField(required=False, allow_null=True)

    validate_preferences = UserCreateSerializer.validate_preferences


class ProfileSerializer(serializers.Serializer):
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    username = serializers.CharField(required=False, max_length=150)
    fiscal_code = serializers.CharField(required=False, allow_blank=True, max_length=16)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    preferences = serializers.JSONField(required=False)

    validate_preferences = UserCreateSerializer.validate_preferences


class UserCheckQuerySerializer(serializers.Serializer):
    email = serializers.EmailField()


class UserCheckSerializer(serializers.Serializer):
    exists = serializers.BooleanField()
    id = serializers.IntegerField(allow_null=True)

