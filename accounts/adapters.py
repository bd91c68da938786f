from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.http import Http404


class ProviderNotConfigured(SocialApp.DoesNotExist, Http404):
    """A provider URL hit while its credentials are unset: a 404, not a 500.

    Still a SocialApp.DoesNotExist for allauth code that catches that."""


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        # allauth's emails name `current_site`, i.e. the sites table's "example.com"; name
        # the platform instead (links still use the request's host).
        # Rendered in the request, sent by Celery through the accounts outbox: the answer to
        # a reset or a sign-up does not wait on SMTP (nor take longer when the address has
        # an account).
        from accounts.models import AccountEmailKind
        from accounts.outbox import email_enqueue

        site = SimpleNamespace(name="CommonWatt", domain=urlsplit(settings.SITE_URL).netloc)
        message = self.render_mail(template_prefix, email, {"current_site": site, **context})
        email_enqueue(kind=AccountEmailKind.RENDERED, email=email, payload={
            "subject": message.subject, "body": message.body, "from_email": message.from_email,
            "alternatives": [list(a) for a in getattr(message, "alternatives", [])],
        })

    def confirm_email(self, request, email_address):
        confirmed = super().confirm_email(request, email_address)
        user = email_address.user
        if email_address.verified and not user.is_verified:
            user.is_verified = True
            user.save(update_fields=["is_verified", "updated_at"])
        return confirmed

    def pre_login(self, request, user, **kwargs):
        # Accounts verified outside allauth (API link, password reset, admin, seed) get a
        # verified EmailAddress, so mandatory verification does not ask them again.
        if user.is_verified:
            from accounts.services import email_address_sync

            email_address_sync(user=user)
        return super().pre_login(request, user, **kwargs)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise ProviderNotConfigured(f"Sign-in with {provider} is not configured.") from None

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        # Google only hands out verified addresses; allauth marks the EmailAddress verified.
        if sociallogin.email_addresses and any(a.verified for a in sociallogin.email_addresses):
            user.is_verified = True
            user.save(update_fields=["is_verified", "updated_at"])
        return user
