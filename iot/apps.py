from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _after_migrate(sender, using="default", **kwargs):
    """After `migrate` (and after a test flush, which sends post_migrate too): the monthly
    partitions of the current window, the shipped metric catalogue and the partition beat
    task exist. All idempotent."""
    from django.conf import settings

    from iot.catalogue import metrics_ensure
    from iot.ingest.partitions import partitions_ensure, readings_table_exists
    from iot.tasks import beat_tasks_ensure

    if not readings_table_exists():  # e.g. `migrate iot zero`
        return
    partitions_ensure(
        months_ahead=settings.IOT_PARTITIONS_MONTHS_AHEAD,
        months_back=settings.IOT_PARTITIONS_MONTHS_BACK,
    )
    metrics_ensure()
    beat_tasks_ensure()


class IotConfig(AppConfig):
    name = "iot"
    verbose_name = _("IoT")

    def ready(self):
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="iot_partitions")
