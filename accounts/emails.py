"""Emails of the API account flows. Sent after the write commits (services queue them)."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from accounts.models import User
from accounts.tokens import make_login_link_token, make_password_reset_token, make_verify_email_token
from core.i18n import language_of
from core.mail import header_safe


def _send(template: str, user: User, context: dict) -> None:
    context = {"user": user, "site_url": settings.SITE_URL.rstrip("/"), **context}
    with translation.override(language_of(user)):  # in the recipient's language
        subject = header_safe(render_to_string(f"accounts/email/{template}_subject.txt", context))
        body = render_to_string(f"accounts/email/{template}_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def send_verify_email(user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    token = make_verify_email_token(user)
    link = f"{settings.SITE_URL.rstrip('/')}/api/v1/auth/verify-email?{urlencode({'token': token})}"
    _send("verify_email", user, {"token": token, "link": link})


def send_password_reset(user_id: int, *, invitation: bool = False) -> None:
    user = User.objects.get(pk=user_id)
    _send("invitation" if invitation else "password_reset", user,
          {"token": make_password_reset_token(user)})


def send_already_registered(user_id: int) -> None:
    """A sign-up with an address that has an account: tell its owner, nobody else."""
    _send("already_registered", User.objects.get(pk=user_id), {})


def send_login_link(user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    _send("login_link", user, {"token": make_login_link_token(user)})
