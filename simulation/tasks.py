from celery import shared_task

from simulation import worker


@shared_task(name="simulation.run", acks_late=False)
def simulation_run_task(run_id: int) -> str:
    """Thin wrapper: a long LP must not be re-delivered to another worker mid-run.

    Routed to settings.SIMULATION_QUEUE (CELERY_TASK_ROUTES), served by its own worker."""
    return worker.run_execute(run_id=run_id).status


@shared_task(name="simulation.sweep_stuck")
def simulation_sweep_stuck_task() -> int:
    """Beat (default queue): fail runs left queued/running by a worker that died."""
    from simulation.services import run_sweep_stuck

    return run_sweep_stuck()
