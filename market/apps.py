from django.apps import AppConfig


class MarketConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "market"
    verbose_name = "Peer-to-peer market"

    def ready(self):
        from market import home_cards  # noqa: F401 - registers the home card
