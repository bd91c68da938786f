"""Wallet movements told to the member (notifications kind `wallet_movement`).

Called inside the transaction of the movement: the notification and its outbox rows commit
with the money or not at all; email / push / SMS leave only after the commit (the
notifications outbox). The dedup key is the movement, so a replayed callback or a retried
task never tells twice."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

WALLET_URL = "/wallet/"


def _notify(*, user, title: str, body: str, key: str, data: dict) -> None:
    from notifications.models import NotificationKind
    from notifications.services import notify

    notify(user=user, kind=NotificationKind.WALLET_MOVEMENT, title=title, body=body, url=WALLET_URL,
           data=data, dedup_key=key)


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


def topup_credited(payment) -> None:
    _notify(user=payment.user, title=_("Top-up credited"),
            body=_("%(amount)s added to your wallet.") % {"amount": _money(payment.amount, payment.currency)},
            key=f"wallet:topup:{payment.uuid}",
            data={"movement": "topup", "amount": str(payment.amount), "currency": payment.currency})


def withdrawal_settled(payout, *, paid: bool) -> None:
    money = _money(payout.amount, payout.currency)
    if paid:
        title = _("Withdrawal paid")
        body = _("%(amount)s paid to %(iban)s.") % {"amount": money, "iban": payout.iban_masked}
    else:
        title = _("Withdrawal not paid")
        body = _("%(amount)s could not be paid; it is available in your wallet again.") % {"amount": money}
    outcome = "paid" if paid else "failed"
    _notify(user=payout.user, title=title, body=body, key=f"wallet:payout:{payout.uuid}:{outcome}",
            data={"movement": "withdrawal", "paid": paid, "amount": str(payout.amount),
                  "currency": payout.currency})


def withdrawal_returned(payout) -> None:
    _notify(user=payout.user, title=_("Withdrawal returned"),
            body=_("The bank returned %(amount)s; it is back in your wallet.")
            % {"amount": _money(payout.amount, payout.currency)},
            key=f"wallet:payout:{payout.uuid}:returned",
            data={"movement": "withdrawal_returned", "amount": str(payout.amount),
                  "currency": payout.currency})


def p2p_done(*, posting, buyer, seller, amount: Decimal, fee: Decimal, currency: str = "EUR") -> None:
    _notify(user=buyer, title=_("Energy purchase paid"),
            body=_("%(amount)s paid for a P2P energy purchase.") % {"amount": _money(amount, currency)},
            key=f"wallet:posting:{posting.pk}:buyer",
            data={"movement": "p2p_purchase", "posting": posting.pk, "amount": str(amount)})
    _notify(user=seller, title=_("Energy sale credited"),
            body=_("%(amount)s credited for a P2P energy sale.") % {"amount": _money(amount - fee, currency)},
            key=f"wallet:posting:{posting.pk}:seller",
            data={"movement": "p2p_sale", "posting": posting.pk, "amount": str(amount - fee)})
