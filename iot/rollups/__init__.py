"""Rollups: 15-minute, hourly, daily and monthly aggregates of `iot_reading` (read side)."""
