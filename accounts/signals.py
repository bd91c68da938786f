from allauth.account.signals import password_changed, password_reset
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts import lockout


def _identifier(credentials: dict) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    # The failed password check already counts (its reservation, see accounts.backends).
    if "password" in credentials:
        lockout.log_failure(_identifier(credentials))


@receiver(user_logged_in)
def on_logged_in(sender, request, user, **kwargs):
    lockout.clear(user.email)


@receiver(password_changed)
@receiver(password_reset)
def on_web_password_change(sender, request, user, **kwargs):
    # A new password ends every API session too: refresh tokens issued before are revoked.
    from accounts.services import refresh_tokens_revoke

    refresh_tokens_revoke(user=user)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def on_password_saved(sender, instance, created, **kwargs):
    # Every path that changes a password (admin form, `changepassword`, web, API reset,
    # services) ends with `set_password()` then `save()`; Django keeps the raw password in
    # `_password` until right after this signal. One hook, so no path can forget it.
    if not created and getattr(instance, "_password", None) is not None:
        from accounts.services import refresh_tokens_revoke

        refresh_tokens_revoke(user=instance)
