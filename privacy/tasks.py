"""Celery tasks of privacy: thin wrappers over the export and retention services."""

from celery import shared_task

EXPORT_BUILD_TASK = "privacy.tasks.export_build_task"


@shared_task(name=EXPORT_BUILD_TASK)
def export_build_task(job_id: int) -> bool:
    from privacy.export import export_build

    return export_build(job_id=job_id)


@shared_task(name="privacy.tasks.exports_sweep_task")
def exports_sweep_task() -> int:
    from privacy.export import exports_sweep

    return exports_sweep()


@shared_task(name="privacy.tasks.privacy_retention_task")
def privacy_retention_task() -> dict:
    from privacy.retention import privacy_retention_run

    return privacy_retention_run()
