"""Accounts API: JWT authentication (`/auth/...`, `/login/...`) and the users API.

Views validate input, call one service or selector, and serialize (STYLE.md, habit 2).
"""

from django.contrib.auth import authenticate, user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import selectors, services
from accounts.models import User
from accounts.serializers import (
    AccessRefreshSerializer,
    BearerTokenSerializer,
    DetailSerializer,
    LoginLinkSerializer,
    LoginSerializer,
    OAuth2FormSerializer,
    PasswordResetRequestSerializer,
    PasswordResetSerializer,
    ProfileSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserCheckQuerySerializer,
    UserCheckSerializer,
    UserCreateSerializer,
    UserFilterSerializer,
    UserSerializer,
    UserUpdateSerializer,
    VerifyEmailQuerySerializer,
)
from accounts.throttles import AuthRateThrottle
from core.errors import ApiError

ERRORS = {400: OpenApiResponse(description="Validation error (error envelope)"),
          401: OpenApiResponse(description="Not authenticated (error envelope)"),
          403: OpenApiResponse(description="Not allowed (error envelope)"),
          404: OpenApiResponse(description="Not found or outside your scope (error envelope)")}


class IsStaffRole(BasePermission):
    message = "Staff only (admin, vendor or referent)."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class _Public(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    def get_authenticate_header(self, request):
        # Without authentication classes DRF would turn our 401s into 403s.
        return 'Bearer realm="api"'


def _password_login(request, email: str, password: str) -> User:
    """Shared by the JSON and the OAuth2-form logins: lockout, failure log, verification."""
    user = authenticate(request, email=email, password=password)
    if user is None:
        raise AuthenticationFailed("Invalid email or password.")
    if not user.is_verified:
        raise ApiError("Confirm your email address first (see the email we sent).",
                       error="EmailNotVerified", status_code=403)
    # The same signal as a web login: updates last_login and clears the failure counter.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return user


def _token_pair(user: User) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


# --- authentication ---------------------------------------------------------------------


REGISTER_ANSWER = ("Check your mailbox: we sent a link to confirm the address (or, if it already "
                   "has an account, a note saying so).")


class RegisterView(_Public):
    @extend_schema(tags=["auth"], request=RegisterSerializer,
                   responses={202: DetailSerializer, 400: ERRORS[400]},
                   summary="Sign up; an email follows (same answer whether the address has an account)")
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_register(**data.validated_data)
        return Response({"detail": REGISTER_ANSWER}, status=status.HTTP_202_ACCEPTED)


class LoginView(_Public):
    @extend_schema(tags=["auth"], request=LoginSerializer,
                   responses={200: TokenPairSerializer, 401: ERRORS[401],
                              403: OpenApiResponse(description="Email not verified"),
                              429: OpenApiResponse(description="Account locked")},
                   summary="Email + password -> access and refresh tokens")
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _password_login(request, data.validated_data["email"], data.validated_data["password"])
        return Response({**_token_pair(user), "user": UserSerializer(user).data})


class GoogleIdTokenSerializer(serializers.Serializer):
    id_token = serializers.CharField(max_length=8192)
    privacy_policy_version = serializers.CharField(
        required=False, allow_blank=True, max_length=32, default="",
        help_text="For a new account: the privacy policy version the person accepts.")


class GoogleSignInView(_Public):
    @extend_schema(tags=["auth"], request=GoogleIdTokenSerializer,
                   responses={200: TokenPairSerializer, 400: ERRORS[400], 401: ERRORS[401],
                              403: OpenApiResponse(description="Email not verified by Google, "
                                                               "or account disabled")},
                   summary="Google ID token -> access and refresh tokens (links or creates the account)")
    def post(self, request):
        from accounts.google import google_sign_in

        data = GoogleIdTokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = google_sign_in(**data.validated_data)
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response({**_token_pair(user), "user": UserSerializer(user).data})


class RefreshTokenView(_Public):
    @extend_schema(tags=["auth"], request=RefreshSerializer,
                   responses={200: AccessRefreshSerializer, 401: ERRORS[401]},
                   summary="New access + refresh; the old refresh is blacklisted")
    def post(self, request):
        data = TokenRefreshSerializer(data=request.data)
        try:
            data.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(str(exc)) from None
        except User.DoesNotExist:
            raise AuthenticationFailed("No active account found for the given token.") from None
        return Response(data.validated_data)


class LogoutView(_Public):
    @extend_schema(tags=["auth"], request=RefreshSerializer,
                   responses={204: None, 400: ERRORS[400], 401: ERRORS[401]},
                   summary="Blacklist the refresh token")
    def post(self, request):
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            RefreshToken(data.validated_data["refresh"]).blacklist()
        except TokenError as exc:
            raise InvalidToken(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerifyEmailView(_Public):
    @extend_schema(tags=["auth"], parameters=[VerifyEmailQuerySerializer],
                   responses={200: UserSerializer, 400: ERRORS[400]},
                   summary="Confirm the email address with the emailed token")
    def get(self, request):
        query = VerifyEmailQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = services.user_verify_email(token=query.validated_data["token"])
        return Response(UserSerializer(user).data)


class PasswordResetRequestView(_Public):
    @extend_schema(tags=["auth"], request=PasswordResetRequestSerializer,
                   responses={202: DetailSerializer, 400: ERRORS[400]},
                   summary="Email a reset token (same answer whether the account exists or not)")
    def post(self, request):
        data = PasswordResetRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response({"detail": "If an account has this email, a reset token is on its way."},
                        status=status.HTTP_202_ACCEPTED)


class LoginLinkRequestView(_Public):
    @extend_schema(tags=["auth"], request=PasswordResetRequestSerializer,
                   responses={202: DetailSerializer, 400: ERRORS[400]},
                   summary="Email a one-time login link (works while the account is locked)")
    def post(self, request):
        data = PasswordResetRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.login_link_request(email=data.validated_data["email"])
        return Response({"detail": "If an account has this email, a login link is on its way."},
                        status=status.HTTP_202_ACCEPTED)


class LoginLinkView(_Public):
    @extend_schema(tags=["auth"], request=LoginLinkSerializer,
                   responses={200: TokenPairSerializer, 400: ERRORS[400]},
                   summary="Log in with the emailed one-time token")
    def post(self, request):
        data = LoginLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.login_link_confirm(token=data.validated_data["token"])
        user_logged_in.send(sender=user.__class__, request=request, user=user)  # spends the link
        return Response({**_token_pair(user), "user": UserSerializer(user).data})


class PasswordResetView(_Public):
    @extend_schema(tags=["auth"], request=PasswordResetSerializer,
                   responses={200: DetailSerializer, 400: ERRORS[400]},
                   summary="Set a new password with the emailed token")
    def post(self, request):
        data = PasswordResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response({"detail": "Password changed; log in with the new one."})


class AccessTokenView(_Public):
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    @extend_schema(tags=["auth"], request={"application/x-www-form-urlencoded": OAuth2FormSerializer},
                   responses={200: BearerTokenSerializer, 401: ERRORS[401]},
                   summary="OAuth2 password form login (username = email)")
    def post(self, request):
        data = OAuth2FormSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _password_login(request, data.validated_data["username"], data.validated_data["password"])
        return Response({"access_token": str(RefreshToken.for_user(user).access_token),
                         "token_type": "bearer"})


class TestTokenView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], request=None, responses={200: UserSerializer, 401: ERRORS[401]},
                   summary="The user the access token belongs to")
    def post(self, request):
        return Response(UserSerializer(request.user).data)


# --- users ------------------------------------------------------------------------------


class UserListView(GenericAPIView):
    serializer_class = UserSerializer
    filter_backends = []

    @extend_schema(tags=["users"], parameters=[UserFilterSerializer],
                   responses={200: UserSerializer(many=True), 400: ERRORS[400]},
                   summary="Users the caller may see, filtered and paginated")
    def get(self, request):
        query = UserFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        member_type = filters.pop("type_filter", None)
        users = selectors.user_list(actor=request.user, member_type=member_type, **filters)
        page = self.paginate_queryset(users)
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(tags=["users"], request=UserCreateSerializer,
                   responses={201: UserSerializer, 400: ERRORS[400],
                              403: ERRORS[403]},
                   summary="Create a user (admin; vendor or referent within their scope)")
    def post(self, request):
        if not request.user.is_staff:
            raise PermissionDenied("Only staff may create users.")
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["organization_id"] = fields.pop("organization", None)
        fields["community_id"] = fields.pop("community", None)
        user = services.user_create(actor=request.user, **fields)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetailView(APIView):
    @extend_schema(tags=["users"], responses={200: UserSerializer, 404: ERRORS[404]},
                   summary="One user (404 outside the caller's scope)")
    def get(self, request, user_id: int):
        return Response(UserSerializer(selectors.user_get(actor=request.user, user_id=user_id)).data)

    def _update(self, request, user_id: int, partial: bool):
        user = selectors.user_get(actor=request.user, user_id=user_id)
        data = UserUpdateSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        user = services.user_update(actor=request.user, user=user, data=dict(data.validated_data))
        return Response(UserSerializer(user).data)

    @extend_schema(tags=["users"], request=UserUpdateSerializer,
                   responses={200: UserSerializer, 400: ERRORS[400], 403: ERRORS[403],
                              404: ERRORS[404]},
                   summary="Update a user (email and full_name required)")
    def put(self, request, user_id: int):
        return self._update(request, user_id, partial=False)

    @extend_schema(tags=["users"], request=UserUpdateSerializer,
                   responses={200: UserSerializer, 400: ERRORS[400], 403: ERRORS[403],
                              404: ERRORS[404]},
                   summary="Update some fields of a user")
    def patch(self, request, user_id: int):
        return self._update(request, user_id, partial=True)


class ProfileView(APIView):
    @extend_schema(tags=["users"], responses={200: UserSerializer, 401: ERRORS[401]},
                   summary="The caller's own account")
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(tags=["users"], request=ProfileSerializer,
                   responses={200: UserSerializer, 400: ERRORS[400]},
                   summary="Update the caller's profile (fields not sent are kept)")
    def put(self, request):
        data = ProfileSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_profile_update(user=request.user, data=dict(data.validated_data))
        return Response(UserSerializer(user).data)


class UserCheckView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(tags=["users"], parameters=[UserCheckQuerySerializer],
                   responses={200: UserCheckSerializer, 400: ERRORS[400],
                              403: OpenApiResponse(description="Staff only")},
                   summary="Does an account have this email? (id only within your scope)")
    def get(self, request):
        query = UserCheckQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        exists, user_id = selectors.user_check_email(actor=request.user,
                                                     email=query.validated_data["email"])
        return Response({"exists": exists, "id": user_id})

