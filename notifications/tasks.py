from celery import shared_task

from notifications.outbox import deliveries_sweep, delivery_send


@shared_task(name="notifications.tasks.delivery_send_task", ignore_result=True)
def delivery_send_task(delivery_id: int) -> bool:
    return delivery_send(delivery_id=delivery_id)


@shared_task(name="notifications.tasks.deliveries_sweep_task")
def deliveries_sweep_task() -> dict:
    return deliveries_sweep()
