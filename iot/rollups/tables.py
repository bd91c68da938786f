"""The rollup tables' names, in one place: readers (the telemetry read side, the settlement,
the market, the forecasts, the homes) take them from here, never from a literal."""

from iot.rollups.ddl import LEVELS

ROLLUP_TABLES: dict[str, str] = {level: f"iot_rollup_{level}" for level in LEVELS}


def rollup_table(*, minutes: int) -> str:
    """The table of an interval of `minutes` (15 or 60)."""
    return {15: ROLLUP_TABLES["15m"], 60: ROLLUP_TABLES["1h"]}[minutes]
