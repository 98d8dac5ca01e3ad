"""Derived water marts in the lake, recomputed for what a load touched.

water_section_daily (partition date) depends on one date partition of
water_readings; water_section_monthly, water_compensation and
water_compensation_factors (partition month) on the month's partitions. A
load recomputes the days it touched and their months: a month of a region's
sections is a few thousand readings, so a whole-month recompute is cheap and
needs no incremental bookkeeping.
"""

from __future__ import annotations

import pandas as pd

from pipelines.core import lake
from pipelines.core.settings import home
from pipelines.water import schema

_PART = "derived"


def refresh(dates: list[str]) -> None:
    """Recompute the daily marts of `dates` (YYYY-MM-DD) and the monthly ones of their months."""
    for day in sorted(set(dates)):
        rebuild_day(day)
    for month in sorted({d[:7] for d in dates}):
        rebuild_month(month)


def rebuild_day(day: str) -> int:
    from pipelines.water.assess import assess_period

    readings = lake.read_partition(schema.READINGS, "date", day, schema.readings_schema())
    daily = assess_period(readings)
    lake.replace_partition(schema.DAILY, daily, partition_col="date", value=day, part=_PART,
                           schema=schema.period_schema())
    return len(daily)


def month_readings(month: str) -> pd.DataFrame:
    """Every source's readings of one month (YYYY-MM)."""
    root = home().dataset(schema.READINGS)
    days = sorted(p.name.split("=", 1)[1] for p in root.glob(f"date={month}-*") if p.is_dir())
    frames = [lake.read_partition(schema.READINGS, "date", d, schema.readings_schema())
              for d in days]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return schema.readings_schema().empty_table().to_pandas()
    return pd.concat(frames, ignore_index=True)


def rebuild_month(month: str) -> int:
    from pipelines.water.assess import assess_period
    from pipelines.water.compensation import compensate

    monthly = assess_period(month_readings(month))
    lake.replace_partition(schema.MONTHLY, monthly, partition_col="month", value=month,
                           part=_PART, schema=schema.period_schema())
    summary, factors = compensate(monthly, month)
    lake.replace_partition(schema.COMPENSATION, summary, partition_col="month", value=month,
                           part=_PART, schema=schema.compensation_schema())
    lake.replace_partition(schema.COMPENSATION_FACTORS, factors, partition_col="month",
                           value=month, part=_PART, schema=schema.factor_schema())
    return len(monthly)
