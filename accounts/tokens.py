"""Signed, expiring tokens sent by email for the API flows (verify email, reset password).

Both are `django.core.signing` strings, so they need no table. The reset token also carries
Django's password-reset hash, which changes when the password (or last login) changes: a
reset link works once.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing

from accounts.models import User
from core.exceptions import Invalid

_VERIFY_SALT = "accounts.verify-email"
_RESET_SALT = "accounts.password-reset"
_LOGIN_LINK_SALT = "accounts.login-link"


class InvalidToken(Invalid):
    def __init__(self, message: str = "The token is invalid or has expired."):
        super().__init__(message, error="InvalidToken", details={"token": [message]})


def make_verify_email_token(user: User) -> str:
    return signing.dumps({"uid": user.pk, "email": user.email}, salt=_VERIFY_SALT)


def read_verify_email_token(token: str) -> User:
    """The user whose current email the token confirms; InvalidToken otherwise."""
    try:
        data = signing.loads(token, salt=_VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE_S)
    except signing.BadSignature:  # includes SignatureExpired
        raise InvalidToken() from None
    user = User.objects.filter(pk=data.get("uid"), email=data.get("email")).first()
    if user is None:
        raise InvalidToken()
    return user


def make_password_reset_token(user: User) -> str:
    return signing.dumps({"uid": user.pk, "h": default_token_generator.make_token(user)},
                         salt=_RESET_SALT)


def read_password_reset_token(token: str) -> User:
    """The user the (unused, unexpired) reset token belongs to; InvalidToken otherwise."""
    try:
        data = signing.loads(token, salt=_RESET_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.BadSignature:
        raise InvalidToken() from None
    user = User.objects.filter(pk=data.get("uid"), is_active=True).first()
    if user is None or not default_token_generator.check_token(user, str(data.get("h", ""))):
        raise InvalidToken()
    return user


def make_login_link_token(user: User) -> str:
    """One-time login: Django's reset hash covers `last_login`, so logging in spends it."""
    return signing.dumps({"uid": user.pk, "h": default_token_generator.make_token(user)},
                         salt=_LOGIN_LINK_SALT)


def read_login_link_token(token: str) -> User:
    try:
        data = signing.loads(token, salt=_LOGIN_LINK_SALT, max_age=settings.LOGIN_LINK_MAX_AGE_S)
    except signing.BadSignature:
        raise InvalidToken() from None
    user = User.objects.filter(pk=data.get("uid"), is_active=True).first()
    if user is None or not default_token_generator.check_token(user, str(data.get("h", ""))):
        raise InvalidToken()
    return user
