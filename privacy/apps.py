from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "privacy"
    verbose_name = "Privacy (GDPR) and API keys"

    def ready(self):
        from accounts.services import signup_steps_register
        from privacy import consent, exporters, integrations  # noqa: F401  (register exporters, erasers)

        signup_steps_register(check=consent.signup_check, created=consent.signup_created)
