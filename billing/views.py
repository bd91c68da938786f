"""Portal pages: the wallet (balance, entries, top up, withdraw), the dev provider's
checkout page, and the operators' metrics dashboard."""

from __future__ import annotations

import json
import uuid as uuid_mod

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from billing import selectors, services
from billing.models import PaymentStatus
from billing.providers import PROVIDERS
from core.exceptions import DomainError, Forbidden


@login_required
@require_http_methods(["GET", "POST"])
def wallet_page(request):
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            amount = services.money_parse(request.POST.get("amount"))
            if action == "topup":
                payment = services.payment_start(
                    payment=services.payment_create(actor=request.user, amount=amount)
                )
                url = payment.client_data.get("redirect_url")
                if url:
                    return redirect(url)
                messages.info(request, _("Payment created; complete it with the provider."))
            elif action == "withdraw":
                services.wallet_withdraw(actor=request.user, amount=amount, iban=request.POST.get("iban", ""))
                messages.success(request, _("Withdrawal requested: the amount is on hold until it is paid."))
            else:
                raise Http404()
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("billing:wallet")
    wallet = selectors.wallet_get(user=request.user, last=50)
    return render(request, "billing/wallet.html", {"wallet": wallet})


def _dev_enabled() -> bool:
    return settings.DEBUG or settings.BILLING_PROVIDER == "dev"


@login_required
@require_http_methods(["GET", "POST"])
def dev_checkout(request, payment_uuid):
    """The dev provider's checkout: the tester confirms or declines; the page then calls the
    payment callback's handler with a signed event, exactly as a provider would."""
    if not _dev_enabled():
        raise Http404()
    try:
        payment = services.payment_for_checkout(uuid=payment_uuid)
    except DomainError:
        raise Http404() from None
    if payment.user_id != request.user.pk:
        raise Http404()
    if request.method == "POST" and payment.status == PaymentStatus.PENDING:
        confirm = request.POST.get("decision") == "confirm"
        event = {
            "id": f"devevt_{uuid_mod.uuid4().hex}",
            "type": "payment.succeeded" if confirm else "payment.failed",
            "object": {
                "ref": payment.provider_ref,
                "amount": str(payment.amount),
                "currency": payment.currency,
            },
        }
        body = json.dumps(event).encode()
        services.callback_receive(body=body, headers=PROVIDERS["dev"].sign(body))
        if confirm:
            messages.success(request, _("Payment confirmed: your wallet is credited."))
        else:
            messages.warning(request, _("Payment declined: nothing was charged."))
        return redirect("billing:wallet")
    return render(request, "billing/dev_checkout.html", {"payment": payment})


@login_required
def metrics_page(request):
    try:
        period = selectors.period_parse(request.GET.get("period"))
        metrics = selectors.metrics_get(user=request.user, period=period)
    except Forbidden:
        raise Http404() from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("billing:metrics")
    return render(request, "billing/metrics.html", {"m": metrics, "period": request.GET.get("period", "24h")})
