"""Web push against a loopback push service: the message is RFC 8291 encrypted for the
browser's keys (decrypted here with them), signed with a VAPID JWT (RFC 8292) that verifies
with VAPID_PUBLIC_KEY; a gone subscription (410) is deleted, a busy service (503) retried."""

import base64
import json
import os
import time

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from notifications.models import Delivery, PushSubscription
from notifications.services import notify, push_subscription_save
from notifications.tasks import delivery_send_task
from notifications.testing.loopback import loopback_server
from notifications.vapid import b64url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_push_service(settings):
    """The loopback server stands for a push service: accept it as one."""
    settings.WEBPUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBPUSH_REQUIRE_HTTPS = False


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def browser(user, endpoint):
    """What a browser's pushManager.subscribe() creates: a P-256 key pair and an auth secret."""
    key = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    push_subscription_save(user=user, endpoint=endpoint, p256dh=b64url(public), auth=b64url(auth))
    return key, auth


def send(note) -> Delivery:
    delivery = Delivery.objects.get(notification=note, channel="push")
    delivery_send_task.apply((delivery.pk,))
    delivery.refresh_from_db()
    return delivery


def test_it_sends_an_encrypted_vapid_signed_message(world, settings):
    with loopback_server(status=201) as push:
        key, auth = browser(world.a.member, f"{push.url}/push/v2/abc123")
        note = notify(user=world.a.member, kind="green_window", title="Green window tomorrow",
                      body="11:00-14:00: about 35 kWh of surplus", url="/forecast/")
        delivery = send(note)

    assert delivery.status == "sent" and delivery.provider_ref == "1/1"
    (request,) = push.requests
    assert request.path == "/push/v2/abc123"
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["ttl"] == str(settings.WEBPUSH_TTL_S)
    assert headers["urgency"] == "normal" and headers["topic"] == f"n{note.pk}"

    # VAPID: "vapid t=<JWT>, k=<public key>"; the JWT verifies with our public key
    scheme, params = headers["authorization"].split(" ", 1)
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == settings.VAPID_PUBLIC_KEY
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(settings.VAPID_PUBLIC_KEY))
    claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=push.url)
    assert claims["sub"] == settings.VAPID_SUBJECT and time.time() < claims["exp"] <= time.time() + 24 * 3600

    # only the browser's private key and auth secret open it
    plain = http_ece.decrypt(request.body, private_key=key, auth_secret=auth, version="aes128gcm")
    assert json.loads(plain) == {"id": note.pk, "kind": "green_window", "title": "Green window tomorrow",
                                 "body": "11:00-14:00: about 35 kWh of surplus", "url": "/forecast/"}
    with pytest.raises(Exception):
        http_ece.decrypt(request.body, private_key=ec.generate_private_key(ec.SECP256R1()),
                         auth_secret=auth, version="aes128gcm")


def test_a_gone_subscription_is_deleted(world):
    with loopback_server(status=410) as push:
        browser(world.a.member, f"{push.url}/push/gone")
        note = notify(user=world.a.member, kind="green_window", title="t", body="")
        delivery = send(note)
    assert delivery.status == "failed"
    assert not PushSubscription.objects.exists()


def test_a_busy_push_service_is_retried_later(world):
    with loopback_server(status=503) as push:
        browser(world.a.member, f"{push.url}/push/busy")
        note = notify(user=world.a.member, kind="green_window", title="t", body="")
        delivery = send(note)
    assert delivery.status == "pending" and delivery.attempts == 1 and "503" in delivery.last_error
    assert PushSubscription.objects.count() == 1


def test_without_a_subscription_no_push_is_queued(world):
    note = notify(user=world.a.member, kind="green_window", title="t", body="")
    assert not Delivery.objects.filter(notification=note, channel="push").exists()
