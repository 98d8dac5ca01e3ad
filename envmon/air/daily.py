"""Daily station and city values with HJ 663 / GB 3095 Table 4 validity, then daily AQI.

Hourly rows are laid on a dense (station-day x 24 hour) grid addressed by
timestamp, so absent hours are simply empty cells: counts, means and 8-hour
windows never depend on row positions. Hour slot h (1..24) is the hour ending
at h:00 of the natural day (slot 24 = next day 00:00), HJ 663's 00:00-24:00.

Invalid statistics are NULL, never a mean of too few hours. Concentrations
stay unrounded; rounding (GB/T 8170) happens only inside AQI scoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from envmon.air import standards
from envmon.air.aqi import AQI_COLUMNS, daily_aqi
from envmon.core.timeutil import BEIJING_TZ_NAME

_MINIMUMS = standards.validity_minimums()
# GB 3095-2012 Table 4 / HJ 663: a daily mean needs >= 20 valid hourly values.
DAILY_MIN_HOURS: int = _MINIMUMS["daily_min_hours"]
# An O3 8h moving average needs >= 6 valid hours in its window.
O3_8H_MIN_HOURS: int = _MINIMUMS["o3_8h_min_hours"]
# The daily max 8h needs >= 14 valid 8h averages (windows ending 08:00-24:00),
# unless it exceeds the GB 3095 O3 8h limit: an exceedance counts regardless.
O3_8H_MIN_WINDOWS: int = _MINIMUMS["o3_8h_min_windows"]

HOURS_PER_DAY = 24
# O3 8h windows lie inside the natural day: the first ends 08:00 (hours
# ending 01:00..08:00), the last ends 24:00 (hours ending 17:00..24:00).
O3_WINDOW_HOURS = 8

MEAN_POLLUTANTS: tuple[str, ...] = ("pm25", "pm10", "so2", "no2", "co")
# Daily statistics carried to the city level and into daily AQI.
DAILY_POLLUTANTS: tuple[str, ...] = (*MEAN_POLLUTANTS, "o3_1h", "o3_8h")

DAILY_STATION_COLUMNS: tuple[str, ...] = (
    "station_code",
    "date",
    *(f"{p}{suffix}" for p in (*MEAN_POLLUTANTS, "o3_1h") for suffix in ("", "_hours", "_valid")),
    "o3_8h",
    "o3_8h_windows",
    "o3_8h_valid",
    *AQI_COLUMNS,
)

DAILY_CITY_COLUMNS: tuple[str, ...] = (
    "city_code",
    "province_code",
    "date",
    *(f"{p}{suffix}" for p in DAILY_POLLUTANTS for suffix in ("", "_stations", "_valid")),
    *AQI_COLUMNS,
)

_ONE_HOUR = np.timedelta64(1, "h")


# ------------------------------------------------------------------ station


def _local_naive(ts: pd.Series) -> np.ndarray:
    """Hour-end stamps as naive Beijing wall time (datetime64[ns])."""
    stamps = pd.DatetimeIndex(pd.to_datetime(ts))
    if stamps.tz is not None:
        stamps = stamps.tz_convert(BEIJING_TZ_NAME).tz_localize(None)
    return stamps.to_numpy().astype("datetime64[ns]")


def _hour_slots(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(natural day datetime64[D], hour slot 1..24) of each row, checked against `date`."""
    local = _local_naive(frame["ts"])
    day = (local - _ONE_HOUR).astype("datetime64[D]")
    offset = local - day.astype("datetime64[ns]")
    if np.any(offset % _ONE_HOUR != np.timedelta64(0, "ns")):
        raise ValueError("daily_station: ts must be whole hours (END of the averaging hour)")
    slot = (offset // _ONE_HOUR).astype(np.int64)
    given = standards.to_days(frame["date"])
    bad = given != day
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"daily_station: {int(bad.sum())} rows whose date is not the natural day of ts,"
            f" e.g. ts={frame['ts'].iloc[first]} date={frame['date'].iloc[first]}"
        )
    return day, slot


def _group_ids(station: pd.Series, day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group id per row, station index per group, day per group), sorted by station, day."""
    station_codes, station_uniques = pd.factorize(station, sort=True)
    day_num = day.astype(np.int64)
    first_day = day_num.min()
    span = day_num.max() - first_day + 1
    gid, keys = pd.factorize(station_codes * span + (day_num - first_day), sort=True)
    group_station = station_uniques.take(keys // span)
    group_day = (keys % span + first_day).astype("datetime64[D]")
    return gid, group_station, group_day


def _grid(gid: np.ndarray, slot: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """(groups x 24) hourly grid, NaN where the hour is absent or missing."""
    grid = np.full((n_groups, HOURS_PER_DAY), np.nan)
    grid[gid, slot - 1] = values
    return grid


def _count_and_sum(grid: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    present = ~np.isnan(grid)
    return present.sum(axis=axis), np.where(present, grid, 0.0).sum(axis=axis)


def _daily_mean(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean or NaN, hour count, valid) per group: HJ 663 daily mean with >= 20 hours."""
    hours, total = _count_and_sum(grid, axis=1)
    valid = hours >= DAILY_MIN_HOURS
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, total / hours, np.nan)
    return mean, hours, valid


def _daily_max_1h(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(max or NaN, hour count, valid): O3 daily max 1h.

    HJ 663 takes the max over the day's valid hours; we additionally require
    the same 20-hour completeness as a daily mean, so a max over a few hours
    is not reported as the day's max.
    """
    hours = (~np.isnan(grid)).sum(axis=1)
    valid = hours >= DAILY_MIN_HOURS
    highest = np.fmax.reduce(grid, axis=1)
    return np.where(valid, highest, np.nan), hours, valid


def _daily_max_8h(grid: np.ndarray, limit_8h: np.ndarray) -> tuple[np.ndarray, ...]:
    """(max 8h or NaN, valid window count, valid) per group: HJ 663 O3 daily max 8h.

    Window k covers slots k+1..k+8, i.e. hours ending in (t - 8 h, t] for
    t = 08:00..24:00; its mean needs >= 6 valid hours. The day's max is valid
    with >= 14 valid windows, or with fewer when it exceeds the GB 3095 limit.
    """
    windows = sliding_window_view(grid, O3_WINDOW_HOURS, axis=1)  # groups x 17 x 8
    hours, total = _count_and_sum(windows, axis=2)
    ok = hours >= O3_8H_MIN_HOURS
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(ok, total / hours, np.nan)
    n_windows = ok.sum(axis=1)
    highest = np.fmax.reduce(means, axis=1)
    valid = (n_windows >= O3_8H_MIN_WINDOWS) | (highest > limit_8h)
    return np.where(valid, highest, np.nan), n_windows, valid


def _prepare_hourly(hourly: pd.DataFrame) -> pd.DataFrame:
    needed = ["station_code", "ts", "date", *MEAN_POLLUTANTS, "o3"]
    missing = [c for c in needed if c not in hourly.columns]
    if missing:
        raise KeyError(f"daily_station input lacks columns {missing}")
    frame = hourly.loc[hourly["ts"].notna() & hourly["station_code"].notna(), needed]
    # A station-hour delivered twice counts once: the last delivery wins.
    return frame.drop_duplicates(["station_code", "ts"], keep="last")


def _empty_station_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in DAILY_STATION_COLUMNS})


def daily_station(hourly: pd.DataFrame) -> pd.DataFrame:
    """One row per station_code + natural day with HJ 663 daily statistics and daily AQI.

    Input: station_code, ts (tz-aware hour END), date (natural day of ts),
    pm25, pm10, so2, no2, o3, co. Output columns: DAILY_STATION_COLUMNS, i.e.
    for pm25/pm10/so2/no2/co the daily mean, `<p>_hours`, `<p>_valid`;
    o3_1h (daily max 1h) with o3_1h_hours/o3_1h_valid; o3_8h (daily max 8h),
    o3_8h_windows, o3_8h_valid; then aqi, primary_pollutant, aqi_standard,
    aqi_complete from `daily_aqi`. Invalid statistics are NULL.
    """
    frame = _prepare_hourly(hourly)
    if frame.empty:
        return _empty_station_frame()
    day, slot = _hour_slots(frame)
    gid, group_station, group_day = _group_ids(frame["station_code"], day)
    n_groups = len(group_day)
    # Keep the caller's date representation: the first row of each group.
    first_row = np.unique(gid, return_index=True)[1]

    out: dict[str, object] = {
        "station_code": pd.Series(group_station).reset_index(drop=True),
        "date": frame["date"].iloc[first_row].reset_index(drop=True),
    }
    stats: dict[str, np.ndarray] = {}
    for p in MEAN_POLLUTANTS:
        grid = _grid(gid, slot, frame[p].to_numpy(dtype=float, na_value=np.nan), n_groups)
        stats[p], out[f"{p}_hours"], out[f"{p}_valid"] = _daily_mean(grid)
    o3 = _grid(gid, slot, frame["o3"].to_numpy(dtype=float, na_value=np.nan), n_groups)
    stats["o3_1h"], out["o3_1h_hours"], out["o3_1h_valid"] = _daily_max_1h(o3)
    limit_8h = standards.limits_on("o3", "8h", group_day)
    stats["o3_8h"], out["o3_8h_windows"], out["o3_8h_valid"] = _daily_max_8h(o3, limit_8h)
    for p, values in stats.items():
        out[p] = pd.array(values, dtype="Float64")

    scores = daily_aqi(pd.DataFrame({"date": group_day, **stats}))
    result = pd.DataFrame(out)
    for column in AQI_COLUMNS:
        result[column] = scores[column].array
    return result.loc[:, list(DAILY_STATION_COLUMNS)]


# --------------------------------------------------------------------- city


def _station_registry(stations: pd.DataFrame) -> pd.DataFrame:
    registry = stations.loc[
        stations["city_code"].notna(), ["station_code", "city_code", "province_code"]
    ]
    duplicated = registry["station_code"].duplicated(keep=False)
    if duplicated.any():
        codes = sorted(set(registry.loc[duplicated, "station_code"]))
        raise ValueError(f"daily_city: stations listed more than once: {codes[:5]}")
    return registry


def daily_city(daily_station: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """City daily values: arithmetic mean over the city's stations (HJ 663), then daily AQI.

    `stations` (station_code, city_code, province_code) is taken to list the
    assessment stations; stations without a city, or not in it, are left
    out. Each pollutant averages only the stations whose daily value is
    valid (`<p>_stations` counts them); the city value is valid when at least
    one station is (a deliberate, documented choice: HJ 663 does not set a
    minimum number of stations per city-day). Means stay unrounded.
    """
    registry = _station_registry(stations)
    merged = daily_station.merge(registry, on="station_code", how="inner", validate="many_to_one")
    values = {}
    for p in DAILY_POLLUTANTS:
        value = merged[p].astype("Float64")
        if f"{p}_valid" in merged.columns:
            value = value.where(merged[f"{p}_valid"].astype("boolean").fillna(False))
        values[p] = value
    work = pd.DataFrame({"city_code": merged["city_code"], "date": merged["date"], **values})
    grouped = work.groupby(["city_code", "date"], sort=True)
    means = grouped[list(DAILY_POLLUTANTS)].mean()
    counts = grouped[list(DAILY_POLLUTANTS)].count()
    province = merged.groupby(["city_code", "date"], sort=True)["province_code"].first()

    out = pd.DataFrame(index=means.index)
    out["province_code"] = province
    for p in DAILY_POLLUTANTS:
        out[p] = means[p].astype("Float64")
        out[f"{p}_stations"] = counts[p].astype(np.int64)
        out[f"{p}_valid"] = counts[p].to_numpy() >= 1
    out = out.reset_index()
    scores = daily_aqi(out.loc[:, ["date", *DAILY_POLLUTANTS]])
    for column in AQI_COLUMNS:
        out[column] = scores[column].array
    return out.loc[:, list(DAILY_CITY_COLUMNS)]
