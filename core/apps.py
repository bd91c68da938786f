from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _beat_sync(sender, **kwargs):
    """After `migrate` (and a test flush): every task of `config.beat.BEAT_TASKS` exists."""
    from django.db import connection

    from config.beat import beat_sync

    if "django_celery_beat_periodictask" in connection.introspection.table_names():
        beat_sync()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Platform core")

    def ready(self):
        post_migrate.connect(_beat_sync, sender=self, dispatch_uid="core_beat_sync")
        from core.metrics import connect_celery_signals

        connect_celery_signals()
        _brand_admin()
        from core.i18n import translate_model_names

        translate_model_names()


def _brand_admin():
    """The back office's own name (issue 11), translated with the rest of the admin."""
    from django.contrib import admin
    from django.utils.translation import gettext_lazy as _

    admin.site.site_header = _("CommonWatt back office")
    admin.site.site_title = _("CommonWatt back office")
    admin.site.index_title = _("Energy communities administration")
