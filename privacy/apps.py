from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "privacy"
    verbose_name = "Privacy (GDPR) and API keys"

    def ready(self):
        from privacy import exporters  # noqa: F401  (registers the built-in exporters)
