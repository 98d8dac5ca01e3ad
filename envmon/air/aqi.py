"""Vectorised AQI scoring (HJ 633-2012 and HJ 633-2026).

Which version scores a row is decided by the natural day of the data (HJ 663:
00:00-24:00 Beijing time); breakpoints and version parameters come from
reference/standards via `envmon.air.standards`. Everything here works on
whole columns: the only Python loops are over versions and indicators.

Output of `hourly_aqi` / `daily_aqi` (same index as the input):
    aqi                Int64, NA when it cannot be published
    primary_pollutant  string, NA when AQI <= 50 or NA; ties joined by ";"
    aqi_standard       string, the HJ 633 version used
    aqi_complete       bool, every indicator of that version was present
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from envmon.air import standards
from envmon.core.errors import ConfigError

PmHourlyBasis = Literal["hourly", "moving_24h"]

# Display names of the indicators, in the order ties are listed.
PRIMARY_NAMES: tuple[str, ...] = ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3_1h", "O3_8h")

AQI_COLUMNS: tuple[str, ...] = ("aqi", "primary_pollutant", "aqi_standard", "aqi_complete")

# Noise guard: representation error of the IAQI formula is ~1e-13, so rounding
# to 9 decimals before ceil/half-even rounding removes binary artefacts
# (e.g. CO 2.2 -> 55.000000000000007 must score 55) without touching any real
# fractional part of concentrations reported to at most 3 decimals.
_NOISE_DECIMALS = 9


@dataclass(frozen=True)
class _Procedure:
    """How a version treats values above a truncated table and which O3 it uses.

    over_top "fallback": HJ 633-2012 - SO2 1h above the table scores on the
    SO2 24h value; O3 8h above the table is reported by the O3 1h IAQI.
    over_top "cap": HJ 633-2026 - the IAQI is the table's top level.
    """

    over_top: Literal["fallback", "cap"]
    daily_o3_1h: bool
    pm_basis_option: bool


_PROCEDURES: dict[str, _Procedure] = {
    "HJ 633-2012": _Procedure(over_top="fallback", daily_o3_1h=True, pm_basis_option=True),
    "HJ 633-2026": _Procedure(over_top="cap", daily_o3_1h=False, pm_basis_option=False),
}


def _procedure(version: str) -> _Procedure:
    try:
        return _PROCEDURES[version]
    except KeyError:
        raise ConfigError(f"no scoring procedure implemented for AQI version {version!r}") from None


# ------------------------------------------------------------------ helpers


def _as_float(values: Any) -> np.ndarray:
    """Float ndarray with NaN for any missing marker (NaN, None, pd.NA)."""
    if isinstance(values, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        return pd.Series(values).to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


def _column(df: pd.DataFrame, name: str, *, required: bool = True) -> np.ndarray:
    if name in df.columns:
        return _as_float(df[name])
    if required:
        raise KeyError(f"AQI input lacks column {name!r}")
    return np.full(len(df), np.nan)


def gbt8170_round(values: Any, decimals: int) -> np.ndarray:
    """Round to `decimals` by GB/T 8170: an exact half goes to the even digit.

    numpy.round rounds half to even on the value scaled by 10**decimals,
    which for feed values (<= 3 decimals) equals GB/T 8170 applied to the
    decimal number (48.5 -> 48, 49.5 -> 50, 5.25 -> 5.2).
    """
    return np.round(np.round(_as_float(values), _NOISE_DECIMALS), decimals)


def iaqi(conc: Any, version: str, key: str) -> np.ndarray:
    """Individual AQI of concentrations on one HJ 633 table, as floats.

    IAQI = (IH - IL) / (BPH - BPL) * (C - BPL) + IL, rounded up (HJ 633).
    NaN and negative concentrations give NaN. Above the top breakpoint a
    full-length table gives the scale top (500); a truncated table (SO2 1h,
    O3 8h) gives NaN because the callers apply the version's special rule.
    No GB/T 8170 rounding here: the callers round when the version asks.
    """
    bp, levels = standards.breakpoints(version, key)
    c = _as_float(conc)
    valid = np.isfinite(c) & (c >= 0)
    seg = np.clip(np.searchsorted(bp, c, side="left") - 1, 0, len(bp) - 2)
    lo_c, hi_c = bp[seg], bp[seg + 1]
    lo_i, hi_i = levels[seg], levels[seg + 1]
    # Multiply before dividing: exact for integer inputs, so a value on a
    # breakpoint lands exactly on the level before the ceiling.
    raw = (hi_i - lo_i) * (c - lo_c) / (hi_c - lo_c) + lo_i
    out = np.ceil(np.round(raw, _NOISE_DECIMALS))
    above = valid & (c > bp[-1])
    top = standards.scale_top(version)
    out[above] = top if levels[-1] == top else np.nan
    out[~valid] = np.nan
    return out


# ------------------------------------------------------------ combination


@dataclass
class _Scores:
    """IAQIs of one version's rows: one column per indicator."""

    names: list[str]
    iaqi: list[np.ndarray]
    present: list[np.ndarray]
    # Rows whose AQI cannot be stated at all (an indicator above its table
    # with no fallback value): publishing the max of the others would report
    # a heavily polluted hour as clean.
    unscorable: np.ndarray | None = None

    def add(self, name: str, values: np.ndarray, present: np.ndarray | None = None) -> None:
        self.names.append(name)
        self.iaqi.append(values)
        self.present.append(~np.isnan(values) if present is None else present)


def _scored(version: str, key: str, conc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(IAQI, concentration as scored) after the version's GB/T 8170 rounding."""
    decimals = standards.round_decimals(version, key)
    if decimals is not None:
        conc = gbt8170_round(conc, decimals)
    return iaqi(conc, version, key), conc


def _over_top(version: str, key: str, conc: np.ndarray) -> np.ndarray:
    return np.isfinite(conc) & (conc > standards.breakpoints(version, key)[0][-1])


def _primary_labels(ties: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Object array: names of tied indicators joined by ';' (None where no tie).

    Each row's tie pattern is encoded as a bit mask so the strings are built
    once per distinct pattern, not once per row.
    """
    order = sorted(range(len(names)), key=lambda i: PRIMARY_NAMES.index(names[i]))
    ties = ties[:, order]
    ordered = [names[i] for i in order]
    codes = ties.astype(np.int64) @ (np.int64(1) << np.arange(len(ordered), dtype=np.int64))
    out = np.full(len(codes), None, dtype=object)
    for code in np.unique(codes[codes > 0]):
        label = ";".join(n for i, n in enumerate(ordered) if code >> i & 1)
        out[codes == code] = label
    return out


def _combine(version: str, scores: _Scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(aqi float with NaN, primary object array, complete bool) for one version."""
    rules = standards.aqi_version(version)
    matrix = np.column_stack(scores.iaqi)
    complete = np.column_stack(scores.present).all(axis=1)
    highest = np.fmax.reduce(matrix, axis=1)  # NaN only when every IAQI is NaN
    aqi = highest.copy()
    if scores.unscorable is not None:
        aqi[scores.unscorable] = np.nan
    if rules.incomplete_publish_above is not None:
        # HJ 633-2026: with an indicator missing, publish only a clearly polluted AQI.
        aqi[~complete & ~(highest > rules.incomplete_publish_above)] = np.nan
    if rules.aqi_min is not None or rules.aqi_max is not None:
        aqi = np.clip(aqi, rules.aqi_min, rules.aqi_max)
    named = ~np.isnan(aqi) & (aqi > rules.primary_above)
    ties = (matrix == highest[:, None]) & named[:, None]
    return aqi, _primary_labels(ties, scores.names), complete


def _assemble(
    index: pd.Index,
    versions: np.ndarray,
    score: Callable[[str, np.ndarray], _Scores],
) -> pd.DataFrame:
    """Score each version's rows with `score(version, positions)` and stitch the result."""
    n = len(index)
    aqi = np.full(n, np.nan)
    primary = np.full(n, None, dtype=object)
    complete = np.zeros(n, dtype=bool)
    for version in pd.unique(versions[pd.notna(versions)]):
        pos = np.flatnonzero(versions == version)
        aqi[pos], primary[pos], complete[pos] = _combine(version, score(version, pos))
    return pd.DataFrame(
        {
            "aqi": pd.array(aqi, dtype="Int64"),
            "primary_pollutant": pd.array(primary, dtype="string"),
            "aqi_standard": pd.array(versions, dtype="string"),
            "aqi_complete": complete,
        },
        index=index,
    )


# ------------------------------------------------------------------ hourly


def _hourly_scores(
    df: pd.DataFrame, version: str, pos: np.ndarray, basis: PmHourlyBasis
) -> _Scores:
    proc = _procedure(version)
    col = {c: _column(df, c)[pos] for c in ("pm25", "pm10", "so2", "no2", "o3", "co")}
    moving = {c: _column(df, c, required=False)[pos] for c in ("pm25_24h", "pm10_24h", "so2_24h")}
    use_moving = proc.pm_basis_option and basis == "moving_24h"
    pm25 = moving["pm25_24h"] if use_moving else col["pm25"]
    pm10 = moving["pm10_24h"] if use_moving else col["pm10"]
    s = _Scores([], [], [])
    # PM has no 1h table: the hourly value (or 24h moving average) scores on the 24h table.
    s.add("PM2.5", _scored(version, "pm25_24h", pm25)[0])
    s.add("PM10", _scored(version, "pm10_24h", pm10)[0])
    so2, s.unscorable = _so2_hourly(version, proc, col["so2"], moving["so2_24h"])
    s.add("SO2", so2)
    s.add("NO2", _scored(version, "no2_1h", col["no2"])[0])
    s.add("CO", _scored(version, "co_1h", col["co"])[0])
    s.add("O3_1h", _scored(version, "o3_1h", col["o3"])[0])
    return s


def _so2_hourly(version: str, proc: _Procedure, so2: np.ndarray,
                so2_24h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SO2 1h above the 1h table: HJ 633-2012 uses the SO2 24h IAQI, HJ 633-2026 the top level.

    Returns (IAQI, unscorable): under HJ 633-2012 an hour above the table
    without a 24h value has no SO2 IAQI, and so no AQI.
    """
    values, scored = _scored(version, "so2_1h", so2)
    over = _over_top(version, "so2_1h", scored)
    if proc.over_top == "cap":
        values[over] = standards.breakpoints(version, "so2_1h")[1][-1]
    else:
        values[over] = _scored(version, "so2_24h", so2_24h[over])[0]
    return values, over & np.isnan(values)


def hourly_aqi(df: pd.DataFrame, *, pm_hourly_basis: PmHourlyBasis = "hourly") -> pd.DataFrame:
    """Hourly (real-time report) AQI of station-hours.

    `df` has ts (tz-aware, END of the averaging hour), pm25, pm10, so2, no2,
    o3, co (CO mg/m³, others µg/m³) and optionally pm25_24h, pm10_24h,
    so2_24h (24h moving averages). The version is chosen by the natural day
    (ts - 1 h).date().

    HJ 633-2012: SO2/NO2/CO/O3 on the 1h tables; PM on the 24h table, scored
    from the hourly concentration (`pm_hourly_basis="hourly"`, default) or
    the feed's 24h moving average (`"moving_24h"`). Publishers differed and
    which one CNEMC used is UNCONFIRMED, hence the option. SO2 1h above the
    table -> the SO2 24h moving average on the 24h table; without one the
    hour's AQI is NA (not the max of the others).
    HJ 633-2026: six 1h values after GB/T 8170 rounding, PM on the daily
    table (the option does not apply), SO2 1h above the table -> IAQI 200.
    """
    if pm_hourly_basis not in ("hourly", "moving_24h"):
        raise ValueError(
            f"pm_hourly_basis must be 'hourly' or 'moving_24h', not {pm_hourly_basis!r}"
        )
    if "ts" not in df.columns:
        raise KeyError("AQI input lacks column 'ts'")
    versions = standards.aqi_version_for(standards.natural_day(df["ts"]))
    return _assemble(
        df.index, versions, lambda v, pos: _hourly_scores(df, v, pos, pm_hourly_basis)
    )


# ------------------------------------------------------------------- daily


def _daily_scores(df: pd.DataFrame, version: str, pos: np.ndarray) -> _Scores:
    proc = _procedure(version)
    s = _Scores([], [], [])
    s.add("PM2.5", _scored(version, "pm25_24h", _column(df, "pm25")[pos])[0])
    s.add("PM10", _scored(version, "pm10_24h", _column(df, "pm10")[pos])[0])
    s.add("SO2", _scored(version, "so2_24h", _column(df, "so2")[pos])[0])
    s.add("NO2", _scored(version, "no2_24h", _column(df, "no2")[pos])[0])
    s.add("CO", _scored(version, "co_24h", _column(df, "co")[pos])[0])
    o3_8h, o3_8h_scored = _scored(version, "o3_8h", _column(df, "o3_8h")[pos])
    over = _over_top(version, "o3_8h", o3_8h_scored)
    if proc.daily_o3_1h:
        o3_1h = _scored(version, "o3_1h", _column(df, "o3_1h", required=False)[pos])[0]
        s.add("O3_1h", o3_1h)
        # HJ 633-2012: O3 8h above 800 gets no IAQI of its own; O3 is reported
        # by the 1h IAQI (already an indicator), so the 8h counts as present
        # exactly when that 1h IAQI exists.
        s.add("O3_8h", o3_8h, present=~np.isnan(o3_8h) | (over & ~np.isnan(o3_1h)))
    else:
        # HJ 633-2026: O3 8h above the table scores the table's top level (300).
        o3_8h[over] = standards.breakpoints(version, "o3_8h")[1][-1]
        s.add("O3_8h", o3_8h)
    return s


def daily_aqi(df: pd.DataFrame) -> pd.DataFrame:
    """Daily-report AQI.

    `df` has date (natural day), pm25, pm10, so2, no2, co (24h means),
    o3_8h (daily max 8h moving average) and o3_1h (daily max 1h; used by
    HJ 633-2012 only, may be absent for HJ 633-2026 data). Missing/invalid
    values are NaN/NA.

    HJ 633-2012: seven indicators; AQI is the max of those available.
    HJ 633-2026: six indicators (no O3 1h), GB/T 8170 rounding first, O3 8h
    above 800 -> IAQI 300, AQI 1..500; with an indicator missing the AQI of
    the others is published only when > 100.
    """
    if "date" not in df.columns:
        raise KeyError("AQI input lacks column 'date'")
    versions = standards.aqi_version_for(df["date"])
    return _assemble(df.index, versions, lambda v, pos: _daily_scores(df, v, pos))


# --------------------------------------------------------------- category


def category(aqi: Any) -> tuple[pd.api.extensions.ExtensionArray, ...]:
    """HJ 633 category of each AQI: (level 1..6 Int64, name_zh, name_en), NA for NA."""
    a = _as_float(aqi)
    table = standards.categories()
    idx = np.searchsorted(table["aqi_low"].to_numpy(), a, side="right") - 1
    ok = ~np.isnan(a) & (idx >= 0)
    safe = np.where(ok, idx, 0)

    def pick(column: str) -> np.ndarray:
        values = table[column].to_numpy(dtype=object)[safe]
        values[~ok] = None
        return values

    return (
        pd.array(pick("level"), dtype="Int64"),
        pd.array(pick("name_zh"), dtype="string"),
        pd.array(pick("name_en"), dtype="string"),
    )
