"""Derived water marts in the lake, recomputed for what a load touched.

water_section_daily (partition date) depends on one date partition of
water_readings; water_section_monthly, water_compensation and
water_compensation_factors (partition month) on the month's days. A load
recomputes the days it touched, then their months from the days' sums
(water_section_daily_sums: per section and day, each item's sum and count),
so a month costs a few thousand rows per day whatever the number of
readings, and a load late in the month costs what an early one does.
"""

from __future__ import annotations

import pandas as pd

from envmon.core import lake, lakehouse
from envmon.core.settings import home
from envmon.water import schema

_PART = "derived"


def refresh(dates: list[str]) -> None:
    """Recompute the daily marts of `dates` (YYYY-MM-DD) and the monthly ones of their months."""
    for day, readings in lake.read_partitions(schema.READINGS, "date", dates,
                                              schema.readings_schema()):
        rebuild_day(day, readings)
    for month in sorted({d[:7] for d in dates}):
        rebuild_month(month)


def rebuild_day(day: str, readings: pd.DataFrame | None = None) -> int:
    """Recompute the day's marts from its readings (read here unless given)."""
    from envmon.water.assess import assess_sums, period_sums

    if readings is None:
        readings = lake.read_partition(schema.READINGS, "date", day, schema.readings_schema())
    sums = period_sums(readings)
    daily = assess_sums(sums)
    lake.replace_partition(schema.DAILY, daily, partition_col="date", value=day, part=_PART,
                           schema=schema.period_schema())
    # Written last: sums newer than the day's readings say its marts are current.
    lake.replace_partition(schema.DAILY_SUMS, sums, partition_col="date", value=day,
                           part=_PART, schema=schema.sums_schema())
    return len(daily)


def rebuild_month(month: str) -> int:
    from envmon.water.assess import assess_sums
    from envmon.water.compensation import compensate

    days = reading_days(month)
    # A day whose sums are missing or older than its readings (a lake from
    # before the sums existed, a load killed before its derive) is redone
    # first, so the month heals as a rebuild from the readings would.
    for day in days:
        if _stale(day):
            rebuild_day(day)
    monthly = assess_sums(month_sums(days))
    lake.replace_partition(schema.MONTHLY, monthly, partition_col="month", value=month,
                           part=_PART, schema=schema.period_schema())
    summary, factors = compensate(monthly, month)
    lake.replace_partition(schema.COMPENSATION, summary, partition_col="month", value=month,
                           part=_PART, schema=schema.compensation_schema())
    lake.replace_partition(schema.COMPENSATION_FACTORS, factors, partition_col="month",
                           value=month, part=_PART, schema=schema.factor_schema())
    return len(monthly)


def reading_days(month: str) -> list[str]:
    """The days of `month` (YYYY-MM) that hold readings, in order."""
    return lake.partition_values(schema.READINGS, "date", f"{month}-")


def month_sums(days: list[str]) -> pd.DataFrame:
    """The daily sums of `days`, in day order (the order assess_sums needs)."""
    frames = [lake.read_part(schema.DAILY_SUMS, "date", day, _PART, schema.sums_schema())
              for day in days]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(schema.SUMS_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _stale(day: str) -> bool:
    if lakehouse.active():
        # A load and its marts commit in one transaction: never one without the other.
        return False
    try:
        written = lake.partition_path(schema.DAILY_SUMS, "date", day, _PART).stat().st_mtime_ns
    except FileNotFoundError:
        return True
    parts = (home().dataset(schema.READINGS) / f"date={day}").glob("*.parquet")
    return any(p.stat().st_mtime_ns > written for p in parts)
