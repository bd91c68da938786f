"""Beat tasks of the read side (registered every minute by migration, see README)."""

from celery import shared_task


@shared_task(name="iot.rollups.tasks.rollup_run_task", ignore_result=True)
def rollup_run_task() -> dict:
    from iot.rollups.service import rollup_run

    result = rollup_run()
    return {"queued": result.queued, "ranges": result.ranges, "watermark": result.watermark,
            "skipped": result.skipped}


@shared_task(name="iot.rollups.tasks.device_offline_check_task", ignore_result=True)
def device_offline_check_task() -> dict:
    from iot.alerts import device_offline_check

    return device_offline_check()


@shared_task(name="iot.rollups.tasks.alerts_notify_pending_task", ignore_result=True)
def alerts_notify_pending_task() -> dict:
    from iot.alerts import alerts_notify_pending

    return alerts_notify_pending()
