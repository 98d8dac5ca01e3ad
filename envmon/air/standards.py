"""Air-quality standards as data: HJ 633 breakpoints, GB 3095 limits, HJ 663 minimums.

Every number lives in reference/standards/*.csv; this module only loads (through
the core reference reader, envmon.core.reference_files: ENVMON_REFERENCE_DIR may
hold a copy of `standards/<file>`, and a file is re-read when it changes), and
looks them up, so a revised standard is a data change, not a code change.

- aqi_breakpoints.csv / aqi_versions.csv / aqi_categories.csv: HJ 633-2012 and
  HJ 633-2026 (the AQI technical regulation). Which version scores a value is
  decided by the natural day (00:00-24:00 Beijing time, HJ 663) of the data.
- gb3095_limits.csv: GB 3095 Grade II concentration limits (GB 3095-2012,
  then GB 3095-2026 in two stages).
- hj663_validity.csv: minimum numbers of valid values (GB 3095 Table 4, HJ 663).

`valid_from` / `valid_to` are inclusive calendar days; empty means open-ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from envmon.core.errors import ConfigError
from envmon.core.reference_files import FileKey, file_key, read_table
from envmon.core.timeutil import BEIJING_TZ_NAME

# File under reference/ -> the columns read from it.
TABLES: dict[str, tuple[str, ...]] = {
    "standards/aqi_versions.csv": ("version", "valid_from", "valid_to", "aqi_min", "aqi_max",
                                   "primary_above", "incomplete_publish_above", "source"),
    "standards/aqi_breakpoints.csv": ("version", "pollutant_key", "iaqi_level", "breakpoint",
                                      "round_decimals"),
    "standards/aqi_categories.csv": ("level", "aqi_low", "aqi_high", "name_zh", "name_en"),
    "standards/gb3095_limits.csv": ("version", "valid_from", "valid_to", "pollutant",
                                    "averaging", "limit", "unit"),
    "standards/hj663_validity.csv": ("name", "value"),
}

_ONE_HOUR = np.timedelta64(1, "h")


@dataclass(frozen=True)
class AqiVersion:
    """One HJ 633 version and the rules that differ between versions.

    `aqi_min`/`aqi_max` clip the AQI (None: no clipping); the primary
    pollutant is named only when AQI > `primary_above`; with an indicator
    missing, the AQI of the others is published only when it exceeds
    `incomplete_publish_above` (None: always published).
    """

    name: str
    valid_from: date | None
    valid_to: date | None
    aqi_min: int | None
    aqi_max: int | None
    primary_above: int
    incomplete_publish_above: int | None
    source: str


# --------------------------------------------------------------------- loading


def _key(name: str) -> FileKey:
    """The version of reference/standards/`name` in use (a bureau's copy, else the bundled)."""
    return file_key(f"standards/{name}")


def _read(key: FileKey, name: str) -> pd.DataFrame:
    """The table as text, empty cells "": the callers decide what is numeric."""
    return read_table(key[0], TABLES[f"standards/{name}"])


def _opt_date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _opt_int(text: str) -> int | None:
    return int(text) if text else None


def aqi_versions() -> tuple[AqiVersion, ...]:
    """All HJ 633 versions, oldest first."""
    return _aqi_versions(_key("aqi_versions.csv"))


@lru_cache(maxsize=4)
def _aqi_versions(key: FileKey) -> tuple[AqiVersion, ...]:
    table = _read(key, "aqi_versions.csv")
    versions = tuple(
        AqiVersion(
            name=row["version"],
            valid_from=_opt_date(row["valid_from"]),
            valid_to=_opt_date(row["valid_to"]),
            aqi_min=_opt_int(row["aqi_min"]),
            aqi_max=_opt_int(row["aqi_max"]),
            primary_above=int(row["primary_above"]),
            incomplete_publish_above=_opt_int(row["incomplete_publish_above"]),
            source=row["source"],
        )
        for row in table.to_dict("records")
    )
    return tuple(sorted(versions, key=lambda v: v.valid_from or date.min))


def aqi_version(name: str) -> AqiVersion:
    """The HJ 633 version called `name` (e.g. "HJ 633-2026")."""
    for version in aqi_versions():
        if version.name == name:
            return version
    raise ConfigError(f"unknown AQI version {name!r}")


def _breakpoint_table() -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray, int | None]]:
    return _breakpoints(_key("aqi_breakpoints.csv"))


@lru_cache(maxsize=4)
def _breakpoints(key: FileKey
                 ) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray, int | None]]:
    table = _read(key, "aqi_breakpoints.csv")
    out: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, int | None]] = {}
    for (version, key), rows in table.groupby(["version", "pollutant_key"], sort=False):
        iaqi = rows["iaqi_level"].astype(float).to_numpy()
        order = np.argsort(iaqi)
        iaqi = iaqi[order]
        conc = rows["breakpoint"].astype(float).to_numpy()[order]
        if np.any(np.diff(conc) <= 0) or np.any(np.diff(iaqi) <= 0):
            raise ConfigError(f"aqi_breakpoints.csv: {version} {key} is not increasing")
        decimals = {_opt_int(d) for d in rows["round_decimals"]}
        if len(decimals) != 1:
            raise ConfigError(f"aqi_breakpoints.csv: {version} {key} mixes round_decimals")
        conc.setflags(write=False)
        iaqi.setflags(write=False)
        out[(str(version), str(key))] = (conc, iaqi, decimals.pop())
    return out


def _breakpoint_entry(version: str, key: str) -> tuple[np.ndarray, np.ndarray, int | None]:
    try:
        return _breakpoint_table()[(version, key)]
    except KeyError:
        raise ConfigError(f"no AQI breakpoints for {version!r} {key!r}") from None


def breakpoints(version: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(concentration breakpoints, IAQI levels) of one HJ 633 table, read-only."""
    conc, iaqi, _ = _breakpoint_entry(version, key)
    return conc, iaqi


def scale_top(version: str) -> float:
    """Highest IAQI level of a version's scale (the top of its full-length tables)."""
    return _scale_top(_key("aqi_breakpoints.csv"), version)


@lru_cache(maxsize=16)
def _scale_top(key: FileKey, version: str) -> float:
    levels = [iaqi[-1] for (v, _), (_, iaqi, _) in _breakpoints(key).items() if v == version]
    if not levels:
        raise ConfigError(f"no AQI breakpoints for {version!r}")
    return float(max(levels))


def round_decimals(version: str, key: str) -> int | None:
    """Decimals a concentration is rounded to (GB/T 8170) before scoring; None: no rounding."""
    return _breakpoint_entry(version, key)[2]


def categories() -> pd.DataFrame:
    """HJ 633 AQI categories: level, aqi_low, aqi_high (NaN = open), name_zh, name_en."""
    return _categories(_key("aqi_categories.csv"))


@lru_cache(maxsize=4)
def _categories(key: FileKey) -> pd.DataFrame:
    table = _read(key, "aqi_categories.csv")
    return pd.DataFrame(
        {
            "level": table["level"].astype(int),
            "aqi_low": table["aqi_low"].astype(float),
            "aqi_high": pd.to_numeric(table["aqi_high"].replace("", np.nan)),
            "name_zh": table["name_zh"],
            "name_en": table["name_en"],
        }
    ).sort_values("aqi_low", ignore_index=True)


def _limits_table() -> pd.DataFrame:
    return _limits(_key("gb3095_limits.csv"))


@lru_cache(maxsize=4)
def _limits(key: FileKey) -> pd.DataFrame:
    table = _read(key, "gb3095_limits.csv")
    return pd.DataFrame(
        {
            "version": table["version"],
            "valid_from": [_opt_date(t) for t in table["valid_from"]],
            "valid_to": [_opt_date(t) for t in table["valid_to"]],
            "pollutant": table["pollutant"],
            "averaging": table["averaging"],
            "limit": table["limit"].astype(float),
            "unit": table["unit"],
        }
    )


def validity_minimums() -> dict[str, int]:
    """HJ 663 / GB 3095 Table 4 minimum counts, e.g. {"daily_min_hours": 20, ...}."""
    return dict(_validity(_key("hj663_validity.csv")))


@lru_cache(maxsize=4)
def _validity(key: FileKey) -> dict[str, int]:
    table = _read(key, "hj663_validity.csv")
    return {row["name"]: int(row["value"]) for row in table.to_dict("records")}


# ------------------------------------------------------------------- dates


def to_days(values: Any) -> np.ndarray:
    """Calendar days (datetime64[D], NaT for missing) of dates, strings or timestamps.

    Tz-aware timestamps are read in Beijing time; naive ones are taken as is.
    """
    if isinstance(values, pd.Series | pd.Index):
        raw = values
    else:
        raw = pd.Series(np.atleast_1d(np.asarray(values, dtype=object)))
    if len(raw) == 0:
        return np.array([], dtype="datetime64[D]")
    stamps = pd.DatetimeIndex(pd.to_datetime(raw))
    if stamps.tz is not None:
        stamps = stamps.tz_convert(BEIJING_TZ_NAME).tz_localize(None)
    return stamps.to_numpy().astype("datetime64[D]")


def natural_day(ts: Any) -> np.ndarray:
    """The natural day (datetime64[D]) of hour-END timestamps: (ts - 1 h).date().

    HJ 663 defines the day as 00:00-24:00, so the hour ending at 00:00
    belongs to the previous day. Tz-aware stamps are read in Beijing time.
    """
    raw = ts if isinstance(ts, pd.Series | pd.Index) else pd.Series(ts)
    stamps = pd.DatetimeIndex(pd.to_datetime(raw))
    if stamps.tz is not None:
        stamps = stamps.tz_convert(BEIJING_TZ_NAME).tz_localize(None)
    return (stamps.to_numpy() - _ONE_HOUR).astype("datetime64[D]")


def _covering(valid_from: date | None, valid_to: date | None, days: np.ndarray) -> np.ndarray:
    mask = ~np.isnat(days)
    if valid_from is not None:
        mask &= days >= np.datetime64(valid_from, "D")
    if valid_to is not None:
        mask &= days <= np.datetime64(valid_to, "D")
    return mask


def aqi_version_for(dates: Any) -> np.ndarray:
    """HJ 633 version name for each natural day (object array; None where undated).

    Pass natural days (for hour-end timestamps use `natural_day` first).
    """
    days = to_days(dates)
    out = np.full(days.shape, None, dtype=object)
    for version in aqi_versions():
        out[_covering(version.valid_from, version.valid_to, days)] = version.name
    return out


# ------------------------------------------------------------------ limits


def limits_on(pollutant: str, averaging: str, days: Iterable[Any] | Any) -> np.ndarray:
    """GB 3095 Grade II limit in force on each day (float array; NaN where none)."""
    table = _limits_table()
    rows = table[(table["pollutant"] == pollutant) & (table["averaging"] == averaging)]
    if rows.empty:
        raise ConfigError(f"no GB 3095 limit for {pollutant!r} {averaging!r}")
    day_arr = to_days(days)
    out = np.full(day_arr.shape, np.nan)
    for row in rows.itertuples(index=False):
        out[_covering(row.valid_from, row.valid_to, day_arr)] = row.limit
    return out


def limit(pollutant: str, averaging: str, on: date | str | pd.Timestamp) -> float:
    """GB 3095 Grade II limit of `pollutant` ("pm25", "o3", ...) for `averaging`
    ("annual", "24h", "8h", "1h") in force on day `on`."""
    value = float(limits_on(pollutant, averaging, [on])[0])
    if np.isnan(value):
        raise ConfigError(f"no GB 3095 limit for {pollutant!r} {averaging!r} on {on}")
    return value
