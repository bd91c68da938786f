"""Celery tasks of billing: thin wrappers over services."""

from celery import shared_task

PAYOUT_SEND_TASK = "billing.tasks.payout_send_task"
PAYOUTS_SWEEP_TASK = "billing.tasks.payouts_sweep_task"
VERIFY_TASK = "billing.tasks.ledger_verify_task"


@shared_task(name=PAYOUT_SEND_TASK)
def payout_send_task(payout_id: int) -> str:
    from billing.services import payout_send

    return payout_send(payout_id=payout_id).status


@shared_task(name=PAYOUTS_SWEEP_TASK)
def payouts_sweep_task() -> dict:
    from billing.services import payouts_sweep

    return {"sent": payouts_sweep()}


@shared_task(name=VERIFY_TASK)
def ledger_verify_task() -> dict:
    from billing.verify import ledger_verify_and_alert

    report = ledger_verify_and_alert()
    return {"ok": report.ok, "problems": len(report.problems), "legs": report.legs}
