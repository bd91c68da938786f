from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _beat_sync(sender, **kwargs):
    """After `migrate` (and a test flush): every task of `config.beat.BEAT_TASKS` exists."""
    from django.db import connection

    from config.beat import beat_sync

    if "django_celery_beat_periodictask" in connection.introspection.table_names():
        beat_sync()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform core"

    def ready(self):
        post_migrate.connect(_beat_sync, sender=self, dispatch_uid="core_beat_sync")
        from core.metrics import connect_celery_signals

        connect_celery_signals()
