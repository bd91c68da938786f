from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def confirm_email(self, request, email_address):
        super().confirm_email(request, email_address)
        user = email_address.user
        if not user.is_verified:
            user.is_verified = True
            user.save(update_fields=["is_verified", "updated_at"])


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    pass
