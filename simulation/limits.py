"""Bounds on what one request may ask of the simulation (issue 8, item 5).

Members, plants, batteries and time steps of a scenario, bytes of an uploaded CSV, and active
runs per user; all settings (SIMULATION_MAX_*), read at call time.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

from core.exceptions import DomainError, Invalid, TooMany


class TooLarge(DomainError):
    """The upload is too large."""

    status_code = 413
    error = "PayloadTooLarge"


def check_csv_size(n_bytes: int) -> None:
    limit = settings.SIMULATION_MAX_CSV_BYTES
    if n_bytes > limit:
        raise TooLarge(
            f"consumption: the CSV has {n_bytes} bytes; at most {limit} are accepted.",
            details={"consumption": [f"larger than {limit} bytes"]},
        )


def check_request_size(content_length: int) -> None:
    """Refuse a multipart body before it is parsed (the CSV plus 1 MiB for the scenario JSON)."""
    limit = settings.SIMULATION_MAX_CSV_BYTES + 1024 * 1024
    if content_length > limit:
        raise TooLarge(
            f"The request has {content_length} bytes; at most {limit} are accepted.",
            details={"consumption": [f"larger than {settings.SIMULATION_MAX_CSV_BYTES} bytes"]},
        )


def check_counts(*, members: int, plants: int, batteries: int) -> None:
    problems = {}
    for field, count, limit in (
        ("members", members, settings.SIMULATION_MAX_MEMBERS),
        ("plants", plants, settings.SIMULATION_MAX_PLANTS),
        ("batteries", batteries, settings.SIMULATION_MAX_BATTERIES),
    ):
        if count > limit:
            problems[field] = [f"{count} given; at most {limit}"]
    if problems:
        field, messages = next(iter(problems.items()))
        raise Invalid(gettext("%(field)s: %(problem)s.") % {"field": field, "problem": messages[0]},
                      details=problems)


def check_steps(steps: int) -> None:
    limit = settings.SIMULATION_MAX_STEPS
    if steps > limit:
        raise Invalid(
            gettext("The scenario has %(steps)s intervals; at most %(limit)s (shorten the period or use "
                    "a coarser resolution).") % {"steps": steps, "limit": limit},
            details={"end": [f"{steps} intervals; at most {limit}"]},
        )


def check_quota(*, active_runs: int) -> None:
    limit = settings.SIMULATION_MAX_CONCURRENT_PER_USER
    if active_runs >= limit:
        raise TooMany(
            gettext("You already have %(active)s simulation(s) queued or running; at most %(limit)s at a "
                    "time. Wait for one to finish or cancel it.") % {"active": active_runs, "limit": limit},
            retry_after_s=30,
        )
