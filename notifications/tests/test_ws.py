"""ws/notifications/: the unread count on connect, each new notification live, only your
own; anonymous refused (4401), a deactivated user closed on the next re-check (4403)."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from notifications.services import notification_mark_read, notify

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://testserver")


def connect(user=None) -> WebsocketCommunicator:
    query = f"?token={AccessToken.for_user(user)}" if user is not None else ""
    return WebsocketCommunicator(application, f"/ws/notifications/{query}", headers=[ORIGIN])


async def test_it_pushes_my_new_notifications_and_the_count(world):
    await sync_to_async(notify)(user=world.a.member, kind="system", title="Earlier", body="")
    mine, theirs = connect(world.a.member), connect(world.a.other_member)
    assert (await mine.connect())[0] and (await theirs.connect())[0]
    assert await mine.receive_json_from(timeout=5) == {"type": "unread", "unread": 1}
    assert await theirs.receive_json_from(timeout=5) == {"type": "unread", "unread": 0}

    note = await sync_to_async(notify)(user=world.a.member, kind="wallet_movement", title="Top-up credited",
                                       body="EUR 20.00", url="/wallet/")

    frame = await mine.receive_json_from(timeout=5)
    assert frame["type"] == "notification" and frame["unread"] == 2
    assert frame["item"]["id"] == note.pk and frame["item"]["title"] == "Top-up credited"
    assert await theirs.receive_nothing(timeout=0.5)  # someone else's never reaches me

    await sync_to_async(notification_mark_read)(user=world.a.member, notification_id=note.pk)
    assert await mine.receive_json_from(timeout=5) == {"type": "unread", "unread": 1}
    await mine.disconnect()
    await theirs.disconnect()


async def test_anonymous_is_refused_with_4401(world):
    ws = connect()
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from(timeout=5))["code"] == 4401
    assert (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4401}


async def test_a_deactivated_user_is_closed_on_the_recheck(world, settings):
    settings.NOTIFICATIONS_WS_RECHECK_S = 0.2
    ws = connect(world.a.member)
    assert (await ws.connect())[0]
    await ws.receive_json_from(timeout=5)
    world.a.member.is_active = False
    await sync_to_async(world.a.member.save)(update_fields=["is_active"])
    assert (await ws.receive_json_from(timeout=5))["code"] == 4403
    assert (await ws.receive_output(timeout=5))["code"] == 4403
