from celery import shared_task

from simulation import services


@shared_task(name="simulation.run", acks_late=False)
def simulation_run_task(run_id: int) -> str:
    """Thin wrapper: a long LP must not be re-delivered to another worker mid-run."""
    return services.run_execute(run_id=run_id).status
