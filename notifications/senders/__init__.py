"""One sender per external channel: `send(delivery)` returns the provider's reference, or
raises notifications.outbox.SendRefused / SendRejected / SendAmbiguous."""

from notifications.models import Channel, Delivery


def send(delivery: Delivery) -> str:
    from notifications.senders import email, sms, webpush

    senders = {Channel.EMAIL: email.send, Channel.PUSH: webpush.send, Channel.SMS: sms.send}
    return senders[delivery.channel](delivery)
