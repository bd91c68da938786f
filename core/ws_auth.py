"""Websocket authentication: the session cookie, or a JWT access token in `?token=`."""

from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_from_jwt(raw: str):
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    auth = JWTAuthentication()
    try:
        user = auth.get_user(auth.get_validated_token(raw))
    except (InvalidToken, TokenError):
        return AnonymousUser()
    return user if user.is_active else AnonymousUser()


class _JwtOverSession(AuthMiddleware):
    async def resolve_scope(self, scope):
        token = parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0]
        if token:
            scope["user"]._wrapped = await _user_from_jwt(token)
        else:
            await super().resolve_scope(scope)


def SessionOrJwtAuthMiddleware(inner):  # noqa: N802 - mirrors channels' AuthMiddlewareStack
    return CookieMiddleware(SessionMiddleware(_JwtOverSession(inner)))
