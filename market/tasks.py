"""Celery tasks of the market: thin wrappers over `market.settlement`."""

from celery import shared_task

SETTLE_TASK = "market.tasks.market_settle_task"


@shared_task(name=SETTLE_TASK)
def market_settle_task() -> dict:
    from market.settlement import market_settle_recent

    return market_settle_recent()
