"""Demo feed: synthetic station archive files in the real `china_sites_YYYYMMDD.csv` format.

The files are written for the demo stations (reference/air/demo_stations.csv), so
the whole pipeline (landing, parser, quarantine, AQI, reports, alerts) can run
without the real national feed. The values are synthetic but plausible for
the Yangtze River Delta: seasonal and diurnal cycles, a north-south gradient,
regional and city weather that make cities co-vary, winter pollution
episodes, photochemical ozone, and the imperfections of the real feed
(missing cells, station outages, a station absent from some files, malformed
cells).

Every random number is a hash of (seed, stream, station or city code, date or
hour), not a draw from a stateful generator, so a station's value at a given
hour does not depend on which window was requested: generating January in one
call or day by day gives identical files. Same arguments, same bytes.

File layout (DOMAIN.md section 2): header `date,hour,type,<code>,...`, one row
per (hour 0-23, type) with the 15 types in feed order; µg/m³ integers, CO
mg/m³ with at most 3 decimals; an empty cell is missing. `_24h` rows are
24-hour moving averages ending at the row's hour, O3_24h the day's running
maximum 1-hour value, O3_8h the 8-hour moving average, O3_8h_24h the day's
running maximum 8-hour average. The AQI row imitates the feed's own hourly
AQI (HJ 633 hourly method, approximate); envmon recomputes it.

This module turns hourly values into that layout: the derived rows, the
cell text, the feed's imperfections and the atomic file writes. The values
come from envmon.demo.air_model; the keyed hashing, the stations and the
hour axis from envmon.demo.air_sites.
"""

from __future__ import annotations

import csv
import os
import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from envmon.air import standards
from envmon.air.sources.china_sites import TYPES as FEED_TYPES
from envmon.core.reference import load_air_stations
from envmon.demo.air_model import simulate
from envmon.demo.air_sites import (
    S_ABSENT,
    S_CELL,
    S_OUTAGE,
    Clock,
    Sites,
    keyed_hash,
    keyed_uniform,
)

# The feed's 15 types in the order the real files list them.
TYPES: tuple[str, ...] = tuple(FEED_TYPES)
FILE_PATTERN = "china_sites_{:%Y%m%d}.csv"
DEFAULT_SEED = 2026

# Feed imperfections.
MISSING_CELL_RATE = 0.01
MALFORMED_CELL_RATE = 1 / 2000
OUTAGE_RATE = 0.02  # per station-day: an outage of 1-6 whole station-hours
OUTAGE_MAX_HOURS = 6
ABSENT_EVERY_DAYS = 11  # one station's column is dropped from every 11th file
MALFORMED_TOKENS = ("—", "NA ", "1,2")  # plus a negative number

# HJ 633 tables scoring the feed-style AQI row (hourly report: PM on the 24h
# table, the others on their 1h tables); the numbers live in reference/standards.
_AQI_TABLES = {
    "pm25": "pm25_24h",
    "pm10": "pm10_24h",
    "so2": "so2_1h",
    "no2": "no2_1h",
    "co": "co_1h",
    "o3": "o3_1h",
}


# --- public API ---------------------------------------------------------------


def demo_stations() -> pd.DataFrame:
    """The demo entries of the air station registry (demo == true)."""
    stations = load_air_stations()
    return stations.loc[stations["demo"]].reset_index(drop=True)


def generate_china_sites(
    out_dir: Path,
    start: date,
    end: date,
    seed: int = DEFAULT_SEED,
    stations: pd.DataFrame | None = None,
) -> list[Path]:
    """Write one `china_sites_YYYYMMDD.csv` per day from `start` to `end` inclusive.

    `stations` needs station_code, city_code, longitude and latitude (default:
    the demo stations of the registry). Returns the written paths in date order.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    sites = Sites.from_frame(demo_stations() if stations is None else stations)
    clock = Clock.covering(start, end)
    hourly = simulate(sites, clock, seed)
    cells = _format_cells(_derive_rows(hourly, clock))
    _inject_defects(cells, sites, clock, seed)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    absent = _absent_station(sites, seed)
    paths = []
    for index, day in enumerate(clock.out_days):
        keep = np.ones(sites.n, dtype=bool)
        if _station_absent_on(day, seed):
            keep[absent] = False
        path = out_dir / FILE_PATTERN.format(day)
        _write_day(path, day, sites.codes[keep], cells[index][:, :, keep])
        paths.append(path)
    return paths


# --- feed rows ----------------------------------------------------------------------


def _moving_mean(values: np.ndarray, window: int, scale: float = 1.0) -> np.ndarray:
    """Mean of the `window` hours ending at each hour (NaN until enough history).

    Summed as integers (values * scale), so the result does not depend on
    where the window starts: float cumulative sums would, by a rounding hair.
    """
    units = np.rint(values * scale).astype(np.int64)
    cumulative = np.vstack([np.zeros((1, values.shape[1]), np.int64), np.cumsum(units, axis=0)])
    out = np.full(values.shape, np.nan)
    out[window - 1 :] = (cumulative[window:] - cumulative[:-window]) / (window * scale)
    return out


def _running_daily_max(values: np.ndarray) -> np.ndarray:
    """Maximum so far within each day (rows are whole days of 24 hours)."""
    days = values.reshape(-1, 24, values.shape[1])
    return np.maximum.accumulate(days, axis=1).reshape(values.shape)


def _derive_rows(hourly: dict[str, np.ndarray], clock: Clock) -> np.ndarray:
    """All 15 type rows, shape (n_out_days, 24, 15, n_stations), warm-up day dropped."""
    o3_8h = np.rint(_moving_mean(hourly["o3"], 8))
    rows = {
        "PM2.5": hourly["pm25"],
        "PM2.5_24h": np.rint(_moving_mean(hourly["pm25"], 24)),
        "PM10": hourly["pm10"],
        "PM10_24h": np.rint(_moving_mean(hourly["pm10"], 24)),
        "SO2": hourly["so2"],
        "SO2_24h": np.rint(_moving_mean(hourly["so2"], 24)),
        "NO2": hourly["no2"],
        "NO2_24h": np.rint(_moving_mean(hourly["no2"], 24)),
        "O3": hourly["o3"],
        "O3_24h": _running_daily_max(hourly["o3"]),
        "O3_8h": o3_8h,
        "O3_8h_24h": _running_daily_max(np.nan_to_num(o3_8h, nan=0.0)),
        "CO": hourly["co"],
        "CO_24h": np.round(_moving_mean(hourly["co"], 24, scale=1000.0), 3),
    }
    rows["AQI"] = _feed_aqi(hourly, clock)
    stacked = np.stack([rows[name] for name in TYPES], axis=1)  # (hours, 15, stations)
    return stacked[24:].reshape(len(clock.out_days), 24, len(TYPES), -1)


def _feed_aqi(hourly: dict[str, np.ndarray], clock: Clock) -> np.ndarray:
    """Approximate hourly AQI as the feed publishes it (HJ 633 hourly method, max IAQI).

    No GB/T 8170 rounding, no missing-indicator rules: the feed's own number,
    which envmon recomputes and compares.
    """
    days = [clock.first_day + timedelta(days=i) for i in range(clock.n_days)]
    versions = np.repeat(standards.aqi_version_for(days), 24)
    aqi = np.zeros(hourly["pm25"].shape)
    for version in sorted({str(v) for v in versions if v is not None}):
        rows = versions == version
        for pollutant, table in _AQI_TABLES.items():
            conc, levels = standards.breakpoints(version, table)
            # above the table's top np.interp holds the top level: fine for a feed value
            iaqi = np.ceil(np.interp(hourly[pollutant][rows], conc, levels) - 1e-9)
            aqi[rows] = np.maximum(aqi[rows], iaqi)
    return aqi


def _format_cells(values: np.ndarray) -> np.ndarray:
    """Cell text: integers, CO with up to 3 decimals (trailing zeros dropped)."""
    cells = np.full(values.shape, "", dtype=object)
    co_rows = np.zeros(len(TYPES), dtype=bool)
    co_rows[[TYPES.index("CO"), TYPES.index("CO_24h")]] = True
    present = ~np.isnan(values)
    integer = present & ~co_rows[None, None, :, None]
    decimal = present & co_rows[None, None, :, None]
    cells[integer] = values[integer].astype(np.int64).astype(str)
    milli = np.rint(values[decimal] * 1000).astype(np.int64)
    whole = np.char.add((milli // 1000).astype(str), ".")
    text = np.char.add(whole, np.char.zfill((milli % 1000).astype(str), 3))
    cells[decimal] = np.char.rstrip(np.char.rstrip(text, "0"), ".")
    return cells


def _inject_defects(cells: np.ndarray, sites: Sites, clock: Clock, seed: int) -> None:
    """Blank cells, station-hour outages and malformed text, in place, keyed by date."""
    days = clock.day_ordinals[1:]
    hours = (24 * days[:, None] + np.arange(24)[None, :])[:, :, None, None]
    types = np.arange(len(TYPES))[None, None, :, None]
    stations = sites.station_key[None, None, None, :]

    u = keyed_uniform(seed, S_CELL, hours, types, stations)
    cells[u < MISSING_CELL_RATE] = ""

    # Outages: a run of whole station-hours (all 15 rows) per affected station-day.
    day_keys = days[:, None]
    station_keys = sites.station_key[None, :]
    down = keyed_uniform(seed, S_OUTAGE, day_keys, station_keys, 0) < OUTAGE_RATE
    first = (keyed_uniform(seed, S_OUTAGE, day_keys, station_keys, 1) * 24).astype(int)
    length = 1 + (
        keyed_uniform(seed, S_OUTAGE, day_keys, station_keys, 2) * OUTAGE_MAX_HOURS
    ).astype(int)
    hour = np.arange(24)[None, :, None]
    out = down[:, None, :] & (hour >= first[:, None, :]) & (hour < (first + length)[:, None, :])
    cells.transpose(0, 1, 3, 2)[out] = ""  # a view: writes through to `cells`

    # Malformed cells: a rare, seeded subset of the cells that still hold a value.
    bad = (u > 1.0 - MALFORMED_CELL_RATE) & (cells != "")
    kinds = len(MALFORMED_TOKENS) + 1  # the tokens, then a negated value
    choice = (keyed_uniform(seed, S_CELL, hours, types, stations, 7) * kinds).astype(int)
    for index, token in enumerate(MALFORMED_TOKENS):
        cells[bad & (choice == index)] = token
    negative = bad & (choice == len(MALFORMED_TOKENS))
    cells[negative] = np.char.add("-", cells[negative].astype(str)).astype(object)


def _absent_station(sites: Sites, seed: int) -> int:
    """The station that drops out of some files: the lowest hash among the stations."""
    return int(np.argmin(keyed_hash(seed, S_ABSENT, sites.station_key)))


def _station_absent_on(day: date, seed: int) -> bool:
    offset = int(keyed_hash(seed, S_ABSENT, 0)[0] % np.uint64(ABSENT_EVERY_DAYS))
    return (day.toordinal() + offset) % ABSENT_EVERY_DAYS == 0


# --- writing -------------------------------------------------------------------------


def _write_day(path: Path, day: date, codes: np.ndarray, cells: np.ndarray) -> None:
    """Write one day's file atomically: a temporary file in the same directory, renamed."""
    stamp = f"{day:%Y%m%d}"
    body = cells.reshape(24 * len(TYPES), len(codes)).tolist()
    labels = [(str(h), t) for h in range(24) for t in TYPES]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["date", "hour", "type", *codes])
            writer.writerows(
                [stamp, hour, kind, *row] for (hour, kind), row in zip(labels, body, strict=True)
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
