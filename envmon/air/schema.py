"""Column contracts of the air datasets.

A source adapter returns a *parsed frame* (PARSED_COLUMNS); enrichment adds
registry, AQI and provenance columns to make `air_hourly` (HOURLY_COLUMNS).
Concentrations are µg/m³ except CO in mg/m³ (GB 3095 units).
`ts` is the END of the averaging hour, tz-aware Beijing time; the natural day
an hour belongs to is (ts - 1 hour).date(), so the hour 23:00-24:00 of
1 October (ts = 2 October 00:00) counts toward 1 October, as HJ 663's natural
day (00:00-24:00) requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy only when called: DAG files import this module
    import numpy as np

HOURLY_DATASET = "air_hourly"

# Hourly (1-hour average) pollutant columns, in canonical order.
POLLUTANTS: tuple[str, ...] = ("pm25", "pm10", "so2", "no2", "o3", "co")

# 24-hour moving averages as published by some feeds (HJ 633-2012 scores hourly
# PM on the 24h table and falls back to SO2 24h above 800 µg/m³ 1h).
MOVING_24H: tuple[str, ...] = ("pm25_24h", "pm10_24h", "so2_24h")

# What every source adapter returns. `source_line` is the 1-based line (or
# record) number in the delivered file, for quarantine reasons.
PARSED_COLUMNS: tuple[str, ...] = (
    "station_code",
    "ts",
    *POLLUTANTS,
    *MOVING_24H,
    "feed_aqi",
    "source_line",
)

# HJ 633-2012: IAQI and AQI run from 0 to 500, the top of its tables. A stated
# AQI off that scale (600, or 1e309, which reads as infinity) is no AQI at
# all: the parsers quarantine that cell and keep the hour's measurements.
FEED_AQI_MAX = 500.0
FEED_AQI_OFF_SCALE = f"feed AQI off the HJ 633-2012 scale (0-{FEED_AQI_MAX:g})"


def feed_aqi_off_scale(values: np.ndarray | float) -> np.ndarray | np.bool_:
    """Which stated AQIs lie off the 0-500 scale; NaN (missing) does not.

    One rule for the array of a wide file and the single cell of a long one.
    """
    import numpy as np

    return np.isinf(values) | (values < 0) | (values > FEED_AQI_MAX)


HOURLY_COLUMNS: tuple[str, ...] = (
    "station_code",
    "city_code",
    "province_code",
    "registered",
    "ts",
    "date",
    *POLLUTANTS,
    *MOVING_24H,
    "aqi",
    "primary_pollutant",
    "aqi_standard",
    "aqi_complete",
    "feed_aqi",
    "aqi_mismatch",
    "source",
    "run_id",
)


def hourly_arrow_schema():  # -> pa.Schema; pyarrow imported lazily for DAG parsing
    """Stored columns of air_hourly (`date` lives in the partition path)."""
    import pyarrow as pa

    ts = pa.timestamp("us", tz="Asia/Shanghai")
    types = {
        "station_code": pa.string(), "city_code": pa.string(), "province_code": pa.string(),
        "registered": pa.bool_(), "ts": ts,
        **{c: pa.float64() for c in (*POLLUTANTS, *MOVING_24H)},
        "aqi": pa.int32(), "primary_pollutant": pa.string(), "aqi_standard": pa.string(),
        "aqi_complete": pa.bool_(), "feed_aqi": pa.float64(), "aqi_mismatch": pa.bool_(),
        "source": pa.string(), "run_id": pa.string(),
    }
    return pa.schema([(c, types[c]) for c in HOURLY_COLUMNS if c != "date"])


def daily_arrow_schema(name: str):  # -> pa.Schema
    """Stored columns of air_daily_station / air_daily_city (`date` in the path)."""
    import pyarrow as pa

    from envmon.air.daily import DAILY_CITY_COLUMNS, DAILY_STATION_COLUMNS

    columns = DAILY_STATION_COLUMNS if name == "air_daily_station" else DAILY_CITY_COLUMNS
    return pa.schema([(c, _daily_type(c)) for c in columns if c != "date"])


def _daily_type(column: str):  # -> pa.DataType
    import pyarrow as pa

    if column in ("station_code", "city_code", "province_code", "primary_pollutant",
                  "aqi_standard"):
        return pa.string()
    if column.endswith(("_hours", "_windows", "_stations")) or column == "aqi":
        return pa.int32()
    if column.endswith("_valid") or column == "aqi_complete":
        return pa.bool_()
    return pa.float64()


def lake_tables() -> dict:
    """Air lake datasets -> full schema (with the `date` partition column)."""
    import pyarrow as pa

    def with_date(schema_fn):
        return lambda: schema_fn().append(pa.field("date", pa.date32()))

    return {
        HOURLY_DATASET: with_date(hourly_arrow_schema),
        "air_daily_station": with_date(lambda: daily_arrow_schema("air_daily_station")),
        "air_daily_city": with_date(lambda: daily_arrow_schema("air_daily_city")),
    }
