"""CNEMC hourly archive, long format: one CSV row per station and hour.

Columns: timepoint, stationcode, longitude, latitude, area, positionname,
primarypollutant, aqi, pm10, pm10_24h, pm2_5, pm2_5_24h, o3, o3_24h, o3_8h,
o3_8h_24h, no2, no2_24h, so2, so2_24h, co, co_24h. Units are GB 3095's:
µg/m³, CO mg/m³. `timepoint` is Beijing time and labels the END of the
averaging hour, as CNEMC's real-time releases do (their notes: the value of
16:00 is the mean of 15:00-16:00), so a timepoint is `ts` as it stands.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from envmon.air.schema import (
    FEED_AQI_OFF_SCALE,
    MOVING_24H,
    PARSED_COLUMNS,
    POLLUTANTS,
    feed_aqi_off_scale,
)
from envmon.air.sources.day_files import DayClaim, date_in_name, day_start
from envmon.core.errors import InputError
from envmon.core.parsing import MISSING_TOKENS, ParseResult, Reject, decode_text, read_csv_table
from envmon.core.timeutil import BEIJING

# Archive column -> parsed column. o3_24h, o3_8h, o3_8h_24h, no2_24h and
# co_24h are published too but not carried.
VALUE_COLUMNS: dict[str, str] = {
    "pm2_5": "pm25",
    "pm10": "pm10",
    "so2": "so2",
    "no2": "no2",
    "o3": "o3",
    "co": "co",
    "pm2_5_24h": "pm25_24h",
    "pm10_24h": "pm10_24h",
    "so2_24h": "so2_24h",
    "aqi": "feed_aqi",
}
KEY_COLUMNS: tuple[str, ...] = ("timepoint", "stationcode")
METADATA_COLUMNS: tuple[str, ...] = ("stationcode", "positionname", "longitude", "latitude",
                                     "area")

# Every way the publisher has written `timepoint` (Arrow/RE2 patterns): with
# a space (2022-03-07 01:00:00), ISO with colons (2022-01-01T00:00:00, the
# 2022 files) and ISO without (2025-01-01T0000, the files of 2024 and 2025),
# seconds optional in each. Public readers of the archive show no other;
# anything else (2026/10/1 13:00 from a spreadsheet that re-saved the file,
# 2026100113) is refused, not guessed at. Each is year, month, day, hour,
# minute and seconds in that order, which read_timepoints relies on.
TIMEPOINT_SPELLINGS: dict[str, str] = {
    "YYYY-MM-DD HH:MM[:SS]": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?",
    "YYYY-MM-DDTHH:MM[:SS]": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?",
    "YYYY-MM-DDTHHMM[SS]": r"\d{4}-\d{2}-\d{2}T\d{4}(?:\d{2})?",
}
_EXPECTED = (f"{', '.join(list(TIMEPOINT_SPELLINGS)[:-1])} or {list(TIMEPOINT_SPELLINGS)[-1]} "
             "(Beijing time, on the hour)")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{8})(?!\d)")


@dataclass(frozen=True)
class _Table:
    """The file's rows with header positions; `rows` are (physical line, cells)."""

    name: str
    columns: dict[str, int]
    width: int
    rows: list[tuple[int, list[str]]]

    def require(self, names: tuple[str, ...] | list[str]) -> None:
        for name in names:
            if name not in self.columns:
                raise InputError(f"missing required column {name!r}", file=self.name,
                                 field=name)

    def cell(self, cells: list[str], name: str) -> str:
        return cells[self.columns[name]].strip()


def parse_cnemc_archive(path: Path, *, name: str | None = None) -> ParseResult:
    """Parse a CNEMC long hourly archive into PARSED_COLUMNS.

    `name` is the name the file was delivered under (landing renames files to
    their sha256): errors name it, and a YYYYMMDD date in it claims that day
    (`day_claim`): rows outside it are refused saying so, and a day file's
    missing hours are named in a warning. Rows with a bad timepoint, station
    code or concentration cell become Rejects and are left out of the frame;
    a bad or off-scale `aqi` cell is refused alone and the row kept without
    feed_aqi.
    """
    path = Path(path)
    name = name or path.name
    table = _read_table(path, name)
    table.require([*KEY_COLUMNS, *VALUE_COLUMNS])
    claim = day_claim(name)
    # All timepoints at once: a national file is ~50,000 rows.
    stamps = pd.Series([table.cell(cells, "timepoint") if len(cells) == table.width else ""
                        for _, cells in table.rows], dtype="str")
    times, problems = read_timepoints(stamps)
    off_day = claim.outside(times) if claim else np.zeros(len(times), dtype=bool)
    rows: list[dict[str, object]] = []
    rejects: list[Reject] = []
    first_line: dict[tuple[str, datetime], int] = {}
    # Plain datetimes: 50,000 pandas Timestamps cost more to box than to parse.
    for (line, cells), ts, problem, outside in zip(table.rows, times.dt.to_pydatetime(),
                                                   problems, off_day, strict=True):
        parsed, cell_rejects = _parse_row(table, line, cells, ts, problem,
                                          claim if outside else None)
        if isinstance(parsed, Reject):
            rejects.append(parsed)
            continue
        key = (str(parsed["station_code"]), parsed["ts"])
        if key in first_line:
            rejects.append(Reject(f"duplicate station and hour (first at line {first_line[key]})",
                                  line=line, field="stationcode", value=key[0],
                                  raw=",".join(cells)))
            continue
        first_line[key] = line
        rows.append(parsed)
        rejects.extend(cell_rejects)
    frame = _to_frame(rows)
    if claim is None:
        return ParseResult(frame=frame, rejects=rejects)
    return ParseResult(frame=frame, rejects=rejects, window=claim.window,
                       warnings=claim.warnings(frame["ts"]))


def station_metadata(path: Path, *, name: str | None = None) -> pd.DataFrame:
    """Station name, position and area as the archive gives them, one row per station.

    Columns: station_code, station_name, longitude, latitude, area. The first
    row of a station wins; unreadable coordinates are NaN.
    """
    path = Path(path)
    table = _read_table(path, name or path.name)
    table.require(METADATA_COLUMNS)
    seen: dict[str, dict[str, object]] = {}
    for _line, cells in table.rows:
        if len(cells) != table.width:
            continue
        code = table.cell(cells, "stationcode")
        if not code or code in seen:
            continue
        seen[code] = {
            "station_code": code,
            "station_name": table.cell(cells, "positionname") or None,
            "longitude": _coordinate(table.cell(cells, "longitude")),
            "latitude": _coordinate(table.cell(cells, "latitude")),
            "area": table.cell(cells, "area") or None,
        }
    frame = pd.DataFrame(list(seen.values()),
                         columns=["station_code", "station_name", "longitude", "latitude", "area"])
    return frame.astype({"station_code": "str", "station_name": "str", "area": "str",
                         "longitude": "float64", "latitude": "float64"})


def day_claim(name: str) -> DayClaim | None:
    """The hours a YYYYMMDD date D in `name` claims, as timepoints, else None.

    A file named for D holds D's hours read either way: timepoints 00:00-23:00
    of D (how the publisher groups its hourly releases by date) or the hours
    ending 01:00 of D through 00:00 of D+1 (HJ 663's natural day, 00:00-24:00).
    Its window is therefore D 00:00-24:00, and it is whole when either reading
    is. Two or more dates in the name claim every timepoint from the first
    day's 00:00 to the last day's 24:00, and no day need be whole.
    """
    days = sorted({d for d in (date_in_name(m) for m in _DATE_IN_NAME.findall(name)) if d})
    if not days:
        return None
    span = (days[-1] - days[0]).days + 1
    return DayClaim(name=name, zero=day_start(days[0]), last=24 * span,
                    days=(range(0, 24), range(1, 25)) if span == 1 else ())


def window_from_name(name: str) -> tuple[datetime, datetime] | None:
    """The [first, last] timepoints the name claims (see day_claim), else None."""
    claim = day_claim(name)
    return claim.window if claim else None


# ---------------------------------------------------------------- reading


def _read_table(path: Path, name: str) -> _Table:
    text = _decode(path, name)
    if not text.strip():
        raise InputError("empty file", file=name)
    header, rows = read_csv_table(text, name)
    columns = _header_positions(header, name)
    return _Table(name=name, columns=columns, width=len(header), rows=rows)


def _decode(path: Path, name: str) -> str:
    return decode_text(path.read_bytes(), name)


def _header_positions(header: list[str], name: str) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, label in enumerate(header):
        key = label.strip().lstrip("\ufeff").strip().lower()
        if not key:
            continue
        if key in columns:
            raise InputError(f"column {key!r} appears twice in the header", file=name,
                             field=key)
        columns[key] = index
    return columns


# ---------------------------------------------------------------- rows


def _parse_row(table: _Table, line: int, cells: list[str], ts: datetime, problem: str,
               outside: DayClaim | None) -> tuple[dict[str, object] | Reject, list[Reject]]:
    """(the row, its refused cells), or (the Reject refusing it whole, []).

    `ts` and `problem` are the row's timepoint as read by read_timepoints;
    `outside` is the claim of the file's name when `ts` falls outside it.
    A bad key or concentration cell, or a timepoint off the day the name
    claims, refuses the row. A feed AQI envmon cannot use costs only that
    cell: it is a cross-check, never used, and must not cost the hour's
    measurements.
    """
    raw = ",".join(cells)
    if len(cells) != table.width:
        return Reject(f"row has {len(cells)} fields, header has {table.width}", line=line,
                      raw=raw), []
    code = table.cell(cells, "stationcode")
    if not code:
        return Reject("empty station code", line=line, field="stationcode", raw=raw), []
    stamp = table.cell(cells, "timepoint")
    if problem:
        return Reject(f"timepoint {stamp!r} is {problem}: expected {_EXPECTED}", line=line,
                      field="timepoint", value=stamp, raw=raw), []
    if outside is not None:
        return Reject(outside.refusal(f"timepoint {stamp!r}"), line=line, field="timepoint",
                      value=stamp, raw=raw), []
    row: dict[str, object] = {"station_code": code, "ts": ts, "source_line": line}
    bad: list[tuple[str, str, str]] = []
    cell_rejects: list[Reject] = []
    for column, target in VALUE_COLUMNS.items():
        text = table.cell(cells, column)
        value = _number(text)
        if target == "feed_aqi" and not isinstance(value, str) and feed_aqi_off_scale(value):
            value = FEED_AQI_OFF_SCALE
        if not isinstance(value, str):
            row[target] = value
        elif target == "feed_aqi":
            cell_rejects.append(Reject(f"{value} in {column}", line=line, field=column,
                                       value=text, raw=raw))
        else:
            bad.append((column, text, value))
    if bad:
        return _bad_cells(bad, line, raw), []
    return row, cell_rejects


def read_timepoints(texts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Timepoints as tz-aware Beijing times, and why each unreadable one is refused.

    Returns (ts, problem), aligned with `texts`: ts is NaT and problem a
    phrase where a timepoint is refused, problem is "" where it is read.
    Arrow does the text work in one call per step for the whole file.
    """
    text = pc.utf8_trim_whitespace(pa.array(texts.to_numpy(dtype=object), type=pa.string()))
    spelled = np.zeros(len(text), dtype=bool)
    for pattern in TIMEPOINT_SPELLINGS.values():
        spelled |= pc.match_substring_regex(text, f"^(?:{pattern})$").to_numpy(
            zero_copy_only=False)
    # Every spelling is its digits in one order: YYYYMMDDHHMM, then SS or not.
    digits = pc.replace_substring_regex(text, r"\D", "")
    digits = pc.if_else(pc.equal(pc.utf8_length(digits), 12),
                        pc.binary_join_element_wise(digits, "00", ""), digits)
    digits = pd.Series(digits.to_pylist(), index=texts.index, dtype="str")
    # A strict format: hour 24 or 25, or 30 February, is no time (a lenient
    # read would roll it into the next day).
    moment = pd.to_datetime(digits.where(spelled), format="%Y%m%d%H%M%S", errors="coerce")
    on_hour = digits.str.slice(10) == "0000"
    problem = pd.Series("", index=texts.index, dtype="str")
    problem = problem.mask(~spelled, "not in a spelling the publisher uses")
    problem = problem.mask(spelled & moment.isna(), "not a real date and hour")
    problem = problem.mask(spelled & moment.notna() & ~on_hour, "not on the hour")
    return moment.where(problem == "").dt.tz_localize(BEIJING), problem


def parse_timepoint(text: str) -> datetime | None:
    """One timepoint (`2026-10-01T1300`) as a tz-aware Beijing time, else None."""
    ts, _problem = read_timepoints(pd.Series([text], dtype="str"))
    return None if pd.isna(ts.iat[0]) else ts.iat[0].to_pydatetime()


def _number(text: str) -> float | str:
    """The cell's value (NaN when missing), or why it is refused."""
    if text.lower() in MISSING_TOKENS:
        return float("nan")
    if not _NUMBER.match(text):
        return "not a number"
    value = float(text)
    if math.isinf(value):  # 1e309: the pattern's digits, beyond a double
        return "not a finite number"
    if value < 0:
        return "negative value"
    return value


def _bad_cells(bad: list[tuple[str, str, str]], line: int, raw: str) -> Reject:
    column, text, why = bad[0]
    reason = f"{why} in {column}"
    if len(bad) > 1:
        reason += f" (also bad: {', '.join(c for c, _, _ in bad[1:])})"
    return Reject(reason, line=line, field=column, value=text, raw=raw)


def _coordinate(text: str) -> float:
    return float(text) if _NUMBER.match(text) else float("nan")


def _to_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    numeric = [*POLLUTANTS, *MOVING_24H, "feed_aqi"]
    frame = pd.DataFrame(rows, columns=list(PARSED_COLUMNS))
    return frame.astype({
        "station_code": "str",
        "ts": pd.DatetimeTZDtype(unit="us", tz=BEIJING),
        **dict.fromkeys(numeric, "float64"),
        "source_line": "int64",
    })
