"""Daily marts in the lake, recomputed from air_hourly one natural day at a time.

A day's marts depend only on that day's hourly partition (natural days are
00:00-24:00 and HJ 663's 8-hour windows end 08:00-24:00 of the same day), so
each load recomputes exactly the days it touched, and memory stays bounded by
one day of the region, whatever the length of a backfill.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from envmon.air import schema
from envmon.core import lake
from envmon.core.sources import preferred_rows

DAILY_STATION = "air_daily_station"
DAILY_CITY = "air_daily_city"
_PART = "daily"


def refresh_days(days: Iterable[str]) -> None:
    """Recompute both daily marts for each of `days`."""
    for day, hourly in lake.read_partitions(schema.HOURLY_DATASET, "date", days,
                                            schema.hourly_arrow_schema()):
        rebuild_daily(day, hourly)


def rebuild_daily(day: str, hourly: pd.DataFrame) -> tuple[int, int]:
    """Recompute both daily marts for `day` (YYYY-MM-DD) from its hourly
    partition; returns their row counts."""
    from envmon.air.daily import daily_city, daily_station
    from envmon.air.registry import city_assessment_stations

    hourly = preferred_hours(hourly).assign(date=day)
    stations = daily_station(hourly) if not hourly.empty else pd.DataFrame()
    cities = (daily_city(stations, city_assessment_stations()) if not stations.empty
              else pd.DataFrame())
    for name, frame in ((DAILY_STATION, stations), (DAILY_CITY, cities)):
        frame = frame.drop(columns=["date"], errors="ignore")
        lake.replace_partition(name, frame, partition_col="date", value=day, part=_PART,
                               schema=schema.daily_arrow_schema(name))
    return len(stations), len(cities)


def preferred_hours(hourly: pd.DataFrame) -> pd.DataFrame:
    """One row per station-hour: when sources overlap, the configured priority wins."""
    return preferred_rows(hourly, "air", ("station_code", "ts"))


