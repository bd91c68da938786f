"""SMS: the Twilio adapter against a loopback server answering Twilio's recorded responses
(basic auth, form fields, the status callback URL), the delivery report's X-Twilio-Signature
checked with Twilio's algorithm (its documented example), and the console provider."""

import base64
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from notifications.models import Delivery, UserSettings
from notifications.senders.sms import STATUS_CALLBACK_PATH, twilio_signature, twilio_signature_valid
from notifications.services import notify, preferences_update
from notifications.tasks import delivery_send_task
from notifications.testing.loopback import loopback_server

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
SID, TOKEN = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "twilio-test-auth-token"


@pytest.fixture
def twilio(settings):
    settings.SMS_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    settings.TWILIO_FROM_NUMBER = "+15557122661"
    with loopback_server(status=201, body=(DATA / "twilio_message_created.json").read_bytes()) as server:
        settings.TWILIO_API_BASE = server.url
        yield server


@pytest.fixture
def sms_member(world):
    preferences_update(user=world.a.member, channels={"wallet_movement": {"sms": True, "email": False}},
                       phone_e164="+393331234567")
    return world.a.member


def send_sms(user) -> Delivery:
    note = notify(user=user, kind="wallet_movement", title="Top-up credited",
                  body="EUR 20.00 added to your wallet.")
    delivery = Delivery.objects.get(notification=note, channel="sms")
    delivery_send_task.apply((delivery.pk,))
    delivery.refresh_from_db()
    return delivery


def test_twilios_documented_signature_example():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675310", "Digits": "1234",
              "From": "+14158675310", "To": "+18005551212"}
    assert twilio_signature(auth_token="12345", url=url, params=params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert not twilio_signature_valid(auth_token="12345", url=url, params={**params, "Digits": "9999"},
                                      signature="GvWf1cFY/Q7PnoempGyD5oXAezc=")


def test_it_sends_through_twilios_messages_api(twilio, sms_member, settings):
    delivery = send_sms(sms_member)

    assert delivery.status == "sent" and delivery.provider_ref == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    (request,) = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert form == {"To": "+393331234567", "From": "+15557122661",
                    "Body": "Top-up credited: EUR 20.00 added to your wallet.",
                    "StatusCallback": f"{settings.SITE_URL}{STATUS_CALLBACK_PATH}"}


def test_an_invalid_number_fails_without_retry(twilio, sms_member):
    twilio.status, twilio.body = 400, (DATA / "twilio_invalid_to.json").read_bytes()
    delivery = send_sms(sms_member)
    assert delivery.status == "failed" and "21211" in delivery.last_error and delivery.attempts == 1


def test_a_twilio_outage_is_retried(twilio, sms_member):
    twilio.status, twilio.body = 503, b"{}"
    delivery = send_sms(sms_member)
    assert delivery.status == "pending" and delivery.attempts == 1


def _report(client, params, signature):
    return client.post(STATUS_CALLBACK_PATH, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_the_signed_status_callback_records_the_delivery_report(twilio, sms_member, client, settings):
    delivery = send_sms(sms_member)
    params = {"AccountSid": SID, "MessageSid": delivery.provider_ref, "MessageStatus": "delivered",
              "To": "+393331234567", "ApiVersion": "2010-04-01"}
    url = f"{settings.SITE_URL}{STATUS_CALLBACK_PATH}"

    forged = _report(client, {**params, "MessageStatus": "failed"},
                     twilio_signature(auth_token=TOKEN, url=url, params=params))
    assert forged.status_code == 403
    other_token = twilio_signature(auth_token="another-token", url=url, params=params)
    assert _report(client, params, other_token).status_code == 403
    assert _report(client, params, "").status_code == 403
    delivery.refresh_from_db()
    assert delivery.provider_status == ""

    signed = twilio_signature(auth_token=TOKEN, url=url, params=params)
    assert _report(client, params, signed).status_code == 204
    delivery.refresh_from_db()
    assert delivery.provider_status == "delivered"


def test_the_console_provider_logs_the_message(world, sms_member, settings, caplog):
    settings.SMS_PROVIDER = "console"
    with caplog.at_level("INFO", logger="commonwatt.notifications.sms"):
        delivery = send_sms(sms_member)
    assert delivery.status == "sent" and delivery.provider_ref.startswith("console-")
    assert "+393331234567" in caplog.text and "Top-up credited" in caplog.text


def test_without_a_phone_number_no_sms_is_queued(world):
    preferences_update(user=world.a.member, channels={"wallet_movement": {"sms": True}})
    assert UserSettings.objects.get(user=world.a.member).phone_e164 == ""
    note = notify(user=world.a.member, kind="wallet_movement", title="t", body="")
    assert not Delivery.objects.filter(notification=note, channel="sms").exists()
