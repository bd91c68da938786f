from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_partitions(sender, using="default", **kwargs):
    """After `migrate`: the monthly partitions of the current window exist."""
    from django.conf import settings

    from iot.ingest.partitions import partitions_ensure, readings_table_exists

    if not readings_table_exists():  # e.g. `migrate iot zero`
        return
    partitions_ensure(
        months_ahead=settings.IOT_PARTITIONS_MONTHS_AHEAD,
        months_back=settings.IOT_PARTITIONS_MONTHS_BACK,
    )


class IotConfig(AppConfig):
    name = "iot"
    verbose_name = "IoT"

    def ready(self):
        post_migrate.connect(_ensure_partitions, sender=self, dispatch_uid="iot_partitions")
