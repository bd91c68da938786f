"""Email: Django's mail backend (EMAIL_URL)."""

import smtplib

from django.conf import settings
from django.core.mail import BadHeaderError, send_mail

from core.mail import header_safe
from notifications.models import Delivery
from notifications.outbox import SendAmbiguous, SendRefused, SendRejected


def send(delivery: Delivery) -> str:
    notification = delivery.notification
    user = notification.user
    if not user.email:
        raise SendRejected("the user has no email address")
    link = f"\n\n{settings.SITE_URL}{notification.url}" if notification.url.startswith("/") else (
        f"\n\n{notification.url}" if notification.url else "")
    try:
        send_mail(header_safe(f"[CommonWatt] {notification.title}"), notification.body + link,
                  None, [user.email])
    except (smtplib.SMTPServerDisconnected, TimeoutError) as exc:
        raise SendAmbiguous(str(exc)) from exc  # the DATA may have been accepted
    except (smtplib.SMTPException, ConnectionError) as exc:
        raise SendRefused(str(exc)) from exc  # refused before the message was taken
    except BadHeaderError as exc:  # an address with a line break: it never will be sent
        raise SendRejected(str(exc)) from exc
    return ""
