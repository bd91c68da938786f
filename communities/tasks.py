"""Celery tasks of the communities app: mails leave the request (outbox through on_commit)."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from core.i18n import language_of

INVITATION_TASK = "communities.tasks.membership_invitation_send"


@shared_task(name=INVITATION_TASK, autoretry_for=(OSError,), retry_backoff=True, max_retries=5,
             ignore_result=True)
def membership_invitation_send(invitation_id: int, token: str) -> bool:
    """Mails the invited person the link to the portal page where they accept or decline.

    The raw token lives only in this task's message and the mail; the database keeps its
    SHA-256 (a read of the table cannot accept anyone's invitation)."""
    from communities.models import InvitationStatus, MembershipInvitation

    invitation = MembershipInvitation.objects.select_related("community", "invited_by").filter(
        pk=invitation_id, status=InvitationStatus.PENDING).first()
    if invitation is None:
        return False
    site = settings.SITE_URL.rstrip("/")
    context = {
        "invitation": invitation, "community": invitation.community,
        "link": f"{site}/community/invitations/{token}/", "site_url": site,
        "inviter": " ".join((invitation.invited_by.full_name if invitation.invited_by else "").split()),
    }
    # in the invitee's language when they have an account, else in the inviter's
    from accounts.models import User

    invitee = User.objects.filter(email__iexact=invitation.email).first()
    with translation.override(language_of(invitee or invitation.invited_by)):
        subject = " ".join(render_to_string("communities/email/invitation_subject.txt", context).split())
        body = render_to_string("communities/email/invitation_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    return True
