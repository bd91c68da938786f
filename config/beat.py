"""The one list of periodic (Celery beat) tasks.

Beat reads its schedule from django-celery-beat's tables (`DatabaseScheduler`), so an
operator can pause or reschedule a task in the back office. `beat_sync()` writes this list
into those tables after every `migrate` (and test flush): a task missing there is created,
an existing one keeps the operator's schedule and enabled flag. Add a task here, nowhere
else.

Each entry: `name` (unique, shown in the admin), `task` (the Celery task name), and either
`every` + `period` (an interval: "seconds", "minutes", "hours", "days") or `crontab`
(a dict of `minute hour day_of_week day_of_month month_of_year`, in `CELERY_TIMEZONE`).
`queue` routes it to a queue other than the default.
"""

from __future__ import annotations

BEAT_TASKS: list[dict] = [
    {"name": "iot: create monthly reading partitions ahead",
     "task": "iot.tasks.partitions_ensure_task", "every": 1, "period": "days"},
    {"name": "iot: fail commands left without acknowledgement",
     "task": "iot.tasks.device_commands_expire_task", "every": 1, "period": "minutes"},
    {"name": "iot: roll up readings (15m, 1h, 1d, 1mo)",
     "task": "iot.rollups.tasks.rollup_run_task", "every": 1, "period": "minutes"},
    {"name": "iot: offline detection and alerts",
     "task": "iot.rollups.tasks.device_offline_check_task", "every": 1, "period": "minutes"},
    {"name": "simulation: fail runs left queued or running by a dead worker",
     "task": "simulation.sweep_stuck", "every": 1, "period": "minutes"},
    {"name": "iot: send alert notifications that failed (outbox)",
     "task": "iot.rollups.tasks.alerts_notify_pending_task", "every": 5, "period": "minutes"},
    {"name": "iot: delete dead letters past IOT_DEAD_LETTER_RETENTION_DAYS",
     "task": "iot.tasks.dead_letters_purge_task", "crontab": {"minute": "17", "hour": "3"}},
    {"name": "accounts: send account emails the task did not send",
     "task": "accounts.tasks.account_emails_sweep_task", "every": 1, "period": "minutes"},
    {"name": "accounts: delete expired tokens, sessions and old account emails",
     "task": "accounts.tasks.auth_retention_task", "crontab": {"minute": "17", "hour": "3"}},
    {"name": "billing: verify the ledger nightly (alerts admins)",
     "task": "billing.tasks.ledger_verify_task", "crontab": {"minute": "30", "hour": "2"}},
    {"name": "billing: send payouts left in the outbox",
     "task": "billing.tasks.payouts_sweep_task", "every": 1, "period": "minutes"},
    {"name": "settlement: draft last month's run of every active community",
     "task": "settlement.tasks.settlement_draft_month_task",
     "crontab": {"minute": "10", "hour": "4", "day_of_month": "2"}},
    {"name": "statements: send statement emails the task did not send",
     "task": "statements.tasks.statement_emails_sweep_task", "every": 2, "period": "minutes"},
    {"name": "market: settle the p2p deliveries of closed intervals",
     "task": "market.tasks.market_settle_task", "crontab": {"minute": "5,20,35,50"}},
    {"name": "forecasts: issue forecasts and plan batteries (morning)",
     "task": "forecasts.tasks.forecast_issue_all_task", "crontab": {"minute": "10", "hour": "5"}},
    {"name": "forecasts: issue forecasts and plan batteries (midday)",
     "task": "forecasts.tasks.forecast_issue_all_task", "crontab": {"minute": "10", "hour": "12"}},
    {"name": "forecasts: score yesterday's forecasts and battery schedules",
     "task": "forecasts.tasks.forecast_score_task", "crontab": {"minute": "40", "hour": "2"}},
    {"name": "forecasts: tell members tomorrow's green windows (evening)",
     "task": "forecasts.tasks.green_windows_notify_task", "crontab": {"minute": "0", "hour": "19"}},
    {"name": "notifications: send deliveries the task did not send, close those a worker left",
     "task": "notifications.tasks.deliveries_sweep_task", "every": 1, "period": "minutes"},
    {"name": "privacy: build GDPR exports the task did not build",
     "task": "privacy.tasks.exports_sweep_task", "every": 5, "period": "minutes"},
    {"name": "privacy: delete old exports, dead API keys, audit rows past retention",
     "task": "privacy.tasks.privacy_retention_task", "crontab": {"minute": "37", "hour": "3"}},
    {"name": "notifications: send deliveries the task did not send, close those a worker left",
     "task": "notifications.tasks.deliveries_sweep_task", "every": 1, "period": "minutes"},
]


def beat_sync(tasks: list[dict] | None = None) -> int:
    """Create the beat rows of `tasks` (default: BEAT_TASKS) that do not exist yet.

    Returns how many were created. Idempotent; never overwrites an operator's change."""
    import json

    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = 0
    for entry in BEAT_TASKS if tasks is None else tasks:
        defaults = {"task": entry["task"], "enabled": True}
        if "crontab" in entry:
            cron = {"minute": "0", "hour": "*", "day_of_week": "*", "day_of_month": "*",
                    "month_of_year": "*", **entry["crontab"]}
            defaults["crontab"], _ = CrontabSchedule.objects.get_or_create(**cron)
        else:
            defaults["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=entry["every"], period=entry["period"])
        if entry.get("queue"):
            defaults["queue"] = entry["queue"]
        if entry.get("kwargs"):
            defaults["kwargs"] = json.dumps(entry["kwargs"])
        _, was_created = PeriodicTask.objects.get_or_create(name=entry["name"], defaults=defaults)
        created += was_created
    return created
