"""GDPR erasure: a person asks, a referent or admin who manages them confirms.

`erasure_request` (the person) opens a pending request; `erasure_confirm` (staff who manage
them, audited) runs `erasure_execute` in one transaction. Each app's eraser (registry below,
like the exporters) removes or pseudonymises what it holds about the person:

- the account: name, email, username, fiscal code, address and preferences erased; the
  email becomes `erased-<id>@erased.invalid`; unusable password, inactive; allauth email
  and Google links deleted; refresh tokens blacklisted and sessions deleted (logged out
  everywhere); outbox emails and export files deleted;
- what law requires to keep (memberships, metering points, readings, wallet accounts,
  postings, payments, payouts, settlements) stays, tied to the same user id, which is now a
  pseudonym: community totals do not change. Free text in them is replaced (plant, device,
  scenario and simulated-member names; posting reasons; alert messages; IBANs masked);
- logs: dead letters of the person's devices are deleted, admin log entries and simulation
  summaries that name them are rewritten.

The audit log holds ids only, so it needs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, UserStatus
from core.exceptions import Conflict, Forbidden, NotFound
from core.scoping import get_manageable
from privacy.models import ErasureRequest, ErasureStatus


@dataclass
class Subject:
    """The person being erased: what identified them, and the pseudonym that replaces it."""

    user: User
    pseudonym: str
    identifiers: list[str] = field(default_factory=list)

    def scrub(self, text: str) -> str:
        for value in self.identifiers:
            text = text.replace(value, self.pseudonym)
        return text

    def scrub_json(self, value):
        if not value:
            return value
        return json.loads(self.scrub(json.dumps(value, ensure_ascii=False)))


ERASERS: dict[str, Callable[[Subject], None]] = {}


def register(name: str):
    def wrap(fn):
        ERASERS[name] = fn
        return fn

    return wrap


# --- requests -----------------------------------------------------------------------------


@transaction.atomic
def erasure_request(*, user: User) -> ErasureRequest:
    pending = ErasureRequest.objects.filter(subject=user, status=ErasureStatus.PENDING).first()
    if pending is not None:
        return pending
    try:
        with transaction.atomic():
            return ErasureRequest.objects.create(subject=user)
    except IntegrityError:
        return ErasureRequest.objects.get(subject=user, status=ErasureStatus.PENDING)


@transaction.atomic
def erasure_cancel(*, user: User) -> int:
    return ErasureRequest.objects.filter(subject=user, status=ErasureStatus.PENDING).update(
        status=ErasureStatus.CANCELLED, decided_at=timezone.now(), decided_by=user)


def _decidable(actor: User, request_id: int) -> ErasureRequest:
    if not actor.is_staff:
        raise NotFound()
    request = get_manageable(ErasureRequest.objects.all(), actor,
                             message=_("You may not decide on this person's erasure."), pk=request_id)
    if request.subject_id == actor.pk:
        raise Forbidden(_("Someone else who manages you confirms your erasure."))
    if request.status != ErasureStatus.PENDING:
        raise Conflict(_("This request was already decided."), details={"status": request.status})
    return request


@transaction.atomic
def erasure_confirm(*, actor: User, request_id: int) -> ErasureRequest:
    """Staff who manage the person confirm: the erasure runs now (audited)."""
    import audit

    request = _decidable(actor, request_id)
    request = ErasureRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != ErasureStatus.PENDING:
        raise Conflict(_("This request was already decided."), details={"status": request.status})
    erasure_execute(user=request.subject)
    request.status, request.decided_by, request.decided_at = ErasureStatus.DONE, actor, timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(actor=actor, action="gdpr.erase", obj=request, target_user=request.subject_id,
                 detail={"erasers": sorted(ERASERS)})
    return request


@transaction.atomic
def erasure_reject(*, actor: User, request_id: int) -> ErasureRequest:
    import audit

    request = _decidable(actor, request_id)
    request.status, request.decided_by, request.decided_at = (ErasureStatus.REJECTED, actor,
                                                              timezone.now())
    request.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(actor=actor, action="gdpr.erase_reject", obj=request, target_user=request.subject_id)
    return request


def erasure_list(*, actor: User, status: str = ""):
    if not actor.is_staff:
        raise Forbidden(_("Staff only."))
    requests = ErasureRequest.objects.managed_by(actor).select_related("subject")
    return requests.filter(status=status) if status else requests


# --- the erasure itself ---------------------------------------------------------------------


def erasure_execute(*, user: User) -> Subject:
    """Erases `user` (see the module docstring). Call inside a transaction."""
    user = User.objects.select_for_update().get(pk=user.pk)
    identifiers = [v for v in (user.full_name, user.email, user.fiscal_code, user.address,
                               user.username) if v and len(v) >= 3]
    subject = Subject(user=user, pseudonym=f"erased-{user.pk}",
                      identifiers=sorted(set(identifiers), key=len, reverse=True))
    for eraser in ERASERS.values():
        eraser(subject)
    return subject


@register("account")
def _account(subject: Subject) -> None:
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.sessions.models import Session

    from accounts.models import AccountEmail
    from accounts.services import refresh_tokens_revoke

    user = subject.user
    old_email = user.email
    refresh_tokens_revoke(user=user)
    EmailAddress.objects.filter(Q(user=user) | Q(email__iexact=old_email)).delete()
    SocialAccount.objects.filter(user=user).delete()
    AccountEmail.objects.filter(Q(user=user) | Q(email__iexact=old_email)).delete()
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
    user.email = f"{subject.pseudonym}@erased.invalid"
    user.username = subject.pseudonym
    user.full_name = user.fiscal_code = user.address = ""
    user.preferences = {}
    user.status, user.is_active, user.is_verified = UserStatus.SUSPENDED, False, False
    user.set_unusable_password()
    user.save()


@register("privacy")
def _privacy(subject: Subject) -> None:
    from privacy.export import export_path
    from privacy.models import ApiKey, ExportJob

    for job in ExportJob.objects.filter(Q(subject=subject.user) | Q(requested_by=subject.user)):
        if job.file_name:
            export_path(job).unlink(missing_ok=True)
        job.delete()
    ApiKey.objects.filter(created_by=subject.user, revoked_at__isnull=True).update(
        revoked_at=timezone.now())


@register("communities")
def _communities(subject: Subject) -> None:
    from communities.models import MembershipInvitation

    email = _email(subject)
    mine = Q(email__iexact=email) if email else Q(pk__in=[])
    for invitation in MembershipInvitation.objects.filter(mine | Q(invited_by=subject.user)):
        if email and invitation.email.lower() == email.lower():
            invitation.email = subject.user.email
        invitation.terms = subject.scrub_json(invitation.terms)
        invitation.save(update_fields=["email", "terms"])


def _email(subject: Subject) -> str:
    return next((v for v in subject.identifiers if "@" in v), "")


@register("plants_and_devices")
def _plants(subject: Subject) -> None:
    from iot.models import Alert, DeadLetter, Device
    from plants.models import Plant

    for plant in Plant.objects.filter(owner=subject.user):
        plant.name = f"Plant {plant.pk}"  # stored data: not translated
        plant.save(update_fields=["name"])
    devices = Device.objects.filter(Q(plant__owner=subject.user)
                                    | Q(metering_point__membership__user=subject.user))
    for device in devices:
        device.name = f"Device {device.pk}"
        device.last_error = ""
        device.save(update_fields=["name", "last_error"])
    for alert in Alert.objects.filter(device__in=devices):
        alert.message = subject.scrub(alert.message)
        alert.save(update_fields=["message"])
    DeadLetter.objects.filter(device__in=devices).delete()


@register("simulation")
def _simulation(subject: Subject) -> None:
    from simulation.models import Scenario, ScenarioMember, SimulationRun

    members = ScenarioMember.objects.filter(membership__user=subject.user)
    old_names = {m.name for m in members if m.name and m.name != m.key}
    subject.identifiers.extend(sorted(old_names - set(subject.identifiers), key=len, reverse=True))
    members.update(name=subject.pseudonym)
    scenarios = Scenario.objects.filter(Q(created_by=subject.user) | Q(members__membership__user=subject.user)
                                        ).distinct()
    for scenario in scenarios:
        scenario.name = subject.scrub(scenario.name)
        scenario.save(update_fields=["name"])
    for run in SimulationRun.objects.filter(scenario__in=scenarios):
        run.summary, run.message = subject.scrub_json(run.summary), subject.scrub(run.message)
        run.save(update_fields=["summary", "message"])


@register("billing")
def _billing(subject: Subject) -> None:
    from billing.models import IdempotentRequest, Payment, Payout, Posting

    for payout in Payout.objects.filter(user=subject.user):
        payout.iban = payout.iban_masked
        payout.save(update_fields=["iban"])
    Payment.objects.filter(user=subject.user).update(client_data={})
    IdempotentRequest.objects.filter(user=subject.user).delete()
    postings = Posting.objects.filter(legs__account__user=subject.user).distinct()
    # Postings are append-only (billing's trigger); this transaction may rewrite only the
    # free-text reason (privacy migration 0002 relaxes the trigger for exactly that).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL commonwatt.erasure = 'on'")
    for posting in postings:
        # A reason the person wrote (a P2P purchase's note) is their free text: replaced.
        reason = (f"{posting.kind} ({subject.pseudonym})" if posting.actor_id == subject.user.pk
                  else subject.scrub(posting.reason))
        if reason != posting.reason:
            Posting.objects.filter(pk=posting.pk).update(reason=reason)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL commonwatt.erasure = 'off'")


@register("admin_log")
def _admin_log(subject: Subject) -> None:
    from django.contrib.admin.models import LogEntry

    text = Q()
    for value in subject.identifiers:
        text |= Q(object_repr__contains=value) | Q(change_message__contains=value)
    if not subject.identifiers:
        return
    for entry in LogEntry.objects.filter(text):
        entry.object_repr = subject.scrub(entry.object_repr)
        entry.change_message = subject.scrub(entry.change_message)
        entry.save(update_fields=["object_repr", "change_message"])
