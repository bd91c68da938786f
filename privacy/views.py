"""Portal pages of privacy: the person's privacy page (policy, consent, export, erasure) and,
for staff, the erasure requests of people they manage. Every action calls the services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from privacy import consent, erasure, export
from privacy.models import ErasureRequest, ErasureStatus


@login_required
def privacy_page(request):
    pending = ErasureRequest.objects.filter(subject=request.user, status=ErasureStatus.PENDING).first()
    to_decide = (erasure.erasure_list(actor=request.user, status=ErasureStatus.PENDING)
                 .exclude(subject=request.user) if request.user.is_staff else [])
    return render(request, "privacy/privacy.html", {
        "state": consent.consent_state(user=request.user), "pending_erasure": pending,
        "to_decide": to_decide, "next": request.GET.get("next", ""),
    })


def _done(request, call, success: str):
    try:
        call()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect("privacy:page")


@login_required
@require_POST
def consent_accept(request):
    response = _done(request, lambda: consent.consent_accept(user=request.user,
                                                             version=request.POST.get("version", "")),
                     _("Thank you: the privacy policy is accepted."))
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//") and not consent.consent_missing(request.user):
        return redirect(target)
    return response


@login_required
@require_POST
def consent_withdraw(request):
    return _done(request, lambda: consent.consent_withdraw(user=request.user),
                 _("Your consent is withdrawn. You can still export your data or ask to be erased."))


@login_required
@require_POST
def export_start(request):
    return _done(request, lambda: export.export_request(actor=request.user),
                 _("Your export is being prepared: we will email you a download link."))


@login_required
@require_POST
def erasure_ask(request):
    return _done(request, lambda: erasure.erasure_request(user=request.user),
                 _("Your request is recorded: someone who manages your community will confirm it."))


@login_required
@require_POST
def erasure_cancel(request):
    return _done(request, lambda: erasure.erasure_cancel(user=request.user),
                 _("Your erasure request is cancelled."))


@login_required
@require_POST
def erasure_decide(request, request_id: int):
    service = erasure.erasure_confirm if request.POST.get("decision") == "confirm" else erasure.erasure_reject
    return _done(request, lambda: service(actor=request.user, request_id=request_id),
                 _("The erasure request is decided."))
