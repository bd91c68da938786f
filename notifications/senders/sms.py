"""SMS through a provider interface: `console` (development: logs the message) or `twilio`
(REST API with basic auth; delivery status reported back to a signed callback)."""

import base64
import hashlib
import hmac
import logging
import uuid

import requests
from django.conf import settings

from notifications.models import Delivery
from notifications.outbox import SendAmbiguous, SendRefused, SendRejected
from notifications.preferences import user_settings

logger = logging.getLogger("commonwatt.notifications.sms")

STATUS_CALLBACK_PATH = "/api/v1/notifications/sms/twilio-status"


class SmsProvider:
    name = ""

    def send(self, *, to: str, body: str) -> str:
        """Send `body` to the E.164 number `to`; returns the provider's message id."""
        raise NotImplementedError


class ConsoleSmsProvider(SmsProvider):
    name = "console"

    def send(self, *, to: str, body: str) -> str:
        ref = f"console-{uuid.uuid4().hex[:16]}"
        logger.info("SMS to %s: %s", to, body, extra={"ref": ref})
        return ref


class TwilioSmsProvider(SmsProvider):
    """Twilio's Programmable Messaging: POST /2010-04-01/Accounts/{sid}/Messages.json."""

    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str = "",
                 messaging_service_sid: str = "", api_base: str, status_callback: str = "",
                 timeout_s: float = 10.0):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.from_number, self.messaging_service_sid = from_number, messaging_service_sid
        self.api_base, self.status_callback, self.timeout_s = api_base.rstrip("/"), status_callback, timeout_s

    def send(self, *, to: str, body: str) -> str:
        form = {"To": to, "Body": body}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.from_number
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            response = requests.post(url, data=form, auth=(self.account_sid, self.auth_token),
                                     timeout=self.timeout_s)
        except requests.ConnectTimeout as exc:
            raise SendRefused(f"Twilio unreachable: {exc}") from exc
        except requests.Timeout as exc:
            raise SendAmbiguous(f"Twilio timed out: {exc}") from exc
        except requests.ConnectionError as exc:
            raise SendRefused(f"Twilio unreachable: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise SendRefused(f"Twilio {response.status_code}")
        if response.status_code >= 400:
            try:
                detail = response.json()
            except ValueError:
                detail = {}
            raise SendRejected(f"Twilio {response.status_code} {detail.get('code', '')}: "
                               f"{detail.get('message', '')}".strip())
        return response.json()["sid"]


def twilio_signature(*, auth_token: str, url: str, params: dict) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(auth token, URL + each POST parameter's
    name and value, sorted by name))."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signature_valid(*, auth_token: str, url: str, params: dict, signature: str) -> bool:
    if not auth_token or not signature:
        return False
    return hmac.compare_digest(twilio_signature(auth_token=auth_token, url=url, params=params), signature)


def get_provider() -> SmsProvider | None:
    if settings.SMS_PROVIDER == "console":
        return ConsoleSmsProvider()
    if settings.SMS_PROVIDER == "twilio":
        return TwilioSmsProvider(
            account_sid=settings.TWILIO_ACCOUNT_SID, auth_token=settings.TWILIO_AUTH_TOKEN,
            from_number=settings.TWILIO_FROM_NUMBER,
            messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID,
            api_base=settings.TWILIO_API_BASE, status_callback=f"{settings.SITE_URL}{STATUS_CALLBACK_PATH}",
            timeout_s=settings.NOTIFICATIONS_SEND_TIMEOUT_S)
    return None


def text(delivery: Delivery) -> str:
    n = delivery.notification
    body = f"{n.title}: {n.body}" if n.body else n.title
    return body[:600]


def send(delivery: Delivery) -> str:
    provider = get_provider()
    if provider is None:
        raise SendRejected("SMS_PROVIDER is not set")
    number = user_settings(delivery.notification.user).phone_e164
    if not number:
        raise SendRejected("the user has no phone number")
    return provider.send(to=number, body=text(delivery))
