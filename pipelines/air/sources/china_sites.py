"""Station archive files `china_sites_YYYYMMDD.csv` (and `china_cities_...`).

Wide layout: `date,hour,type,<station>,<station>,...`, one line per hour and
pollutant type, one column per station; the set of station columns changes
from file to file, so nothing here assumes a fixed schema. `date` is
YYYYMMDD, `hour` 0-23, empty cell = missing, units µg/m³ (CO mg/m³).

Whether `hour` labels the end of the averaging hour is not documented by the
publisher; envmon treats it as hour-ending by default (`hour_label`), the
convention of CNEMC's real-time release.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.air.schema import PARSED_COLUMNS
from pipelines.core.errors import InputError
from pipelines.core.parsing import MISSING_TOKENS, ParseResult, Reject, decode_text
from pipelines.core.timeutil import BEIJING

# The feed's 15 types. Those mapped to None are known but not carried: envmon
# computes its own O3 8h and daily values from the hourly ones.
TYPES: dict[str, str | None] = {
    "AQI": "feed_aqi",
    "PM2.5": "pm25", "PM2.5_24h": "pm25_24h",
    "PM10": "pm10", "PM10_24h": "pm10_24h",
    "SO2": "so2", "SO2_24h": "so2_24h",
    "NO2": "no2", "NO2_24h": None,
    "O3": "o3", "O3_24h": None, "O3_8h": None, "O3_8h_24h": None,
    "CO": "co", "CO_24h": None,
}
HOUR_LABELS = ("ending", "beginning")
_NAME_DATE = re.compile(r"china_(?:sites|cities)_(\d{8})")
_KEYS = ["date", "hour", "type"]


def parse_china_sites(path: Path, *, name: str | None = None,
                      hour_label: str = "ending") -> ParseResult:
    """Parse one station archive file into canonical station-hour rows.

    `name` is the name the file was delivered under (landing renames files
    to their sha256); its date gives the window the rows must fall in.
    """
    name = name or path.name
    if hour_label not in HOUR_LABELS:
        raise ValueError(f"hour_label must be one of {HOUR_LABELS}, not {hour_label!r}")
    rejects: list[Reject] = []
    table = _read(path, name, rejects)
    lines = _valid_lines(table, name, rejects)
    frame = _to_station_hours(lines, hour_label, rejects)
    return ParseResult(frame=frame, rejects=rejects, window=_window(name, hour_label))


def _read(path: Path, name: str, rejects: list[Reject]) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError("empty file", file=name)
    text = decode_text(raw, name)
    if not text.strip():
        raise InputError("empty file", file=name)
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    try:
        header = [c.strip() for c in next(reader)]
        _check_header(header, name)
        lines, rows = [], []
        for row in reader:
            _take_row(row, reader.line_num, len(header), lines, rows, rejects)
    except csv.Error as exc:
        raise InputError(f"not a CSV table: {exc}", file=name, row=reader.line_num) from None
    if not rows and not rejects:
        raise InputError("no rows after the header", file=name, row=2)
    table = pd.DataFrame(rows, columns=_KEYS + header[3:], dtype="str")
    # Line numbers as a person sees them in an editor: header is line 1.
    table.insert(0, "_line", np.array(lines, dtype="int64"))
    return table


def _take_row(row: list[str], line: int, width: int, lines: list[int], rows: list[list[str]],
              rejects: list[Reject]) -> None:
    """Keep a data line, padded to the header's width; refuse one that is too wide."""
    if not row or all(not c.strip() for c in row):
        return
    if len(row) > width:
        if any(c.strip() for c in row[width:]):
            rejects.append(Reject(reason=f"line has {len(row)} cells, the header has {width}",
                                  line=line, field="line", value=str(len(row)),
                                  raw=",".join(row)[:500]))
            return
        row = row[:width]
    # A short line leaves its last cells absent: missing, like an empty cell.
    lines.append(line)
    rows.append(row + [""] * (width - len(row)))


def _check_header(header: list[str], name: str) -> None:
    if [c.lower() for c in header[:3]] != _KEYS:
        raise InputError(f"header must start with date,hour,type, found {','.join(header[:3])!r}",
                         file=name, row=1)
    stations = header[3:]
    if not stations:
        raise InputError("header names no station columns", file=name, row=1)
    if "" in stations:
        raise InputError("a station column has no code in the header", file=name, row=1,
                         field=f"column {stations.index('') + 4}")
    seen: set[str] = set()
    for code in stations:
        if code in seen:
            raise InputError("station column appears twice in the header", file=name, row=1,
                             field=code)
        seen.add(code)


def _valid_lines(table: pd.DataFrame, name: str, rejects: list[Reject]) -> pd.DataFrame:
    """Drop lines with a bad date, hour or type, or repeating an earlier line."""
    day = pd.to_datetime(table["date"].str.strip(), format="%Y%m%d", errors="coerce")
    hour = pd.to_numeric(table["hour"].str.strip(), errors="coerce")
    kind = table["type"].str.strip()
    problems = pd.Series("", index=table.index, dtype="str")
    problems = problems.mask(day.isna(), "bad date (expected YYYYMMDD)")
    bad_hour = hour.isna() | (hour % 1 != 0) | (hour < 0) | (hour > 23)
    problems = problems.mask((problems == "") & bad_hour, "bad hour (expected 0-23)")
    problems = problems.mask((problems == "") & ~kind.isin(list(TYPES)), "unknown type")
    fields = {"bad date (expected YYYYMMDD)": "date", "bad hour (expected 0-23)": "hour",
              "unknown type": "type"}
    for idx in problems[problems != ""].index:
        reason = problems[idx]
        fld = fields[reason]
        value = str(table.at[idx, fld])
        rejects.append(Reject(reason=f"{reason}: {value!r}", line=int(table.at[idx, "_line"]),
                              field=fld, value=value, raw=_raw_line(table, idx)))
    keep = problems == ""
    ok = table[keep].assign(date=day[keep], hour=hour[keep].astype(int), type=kind[keep])
    dup = ok.duplicated(subset=_KEYS, keep="first")
    if dup.any():
        first = ok[~dup].set_index(_KEYS)["_line"]
        for idx, row in ok[dup].iterrows():
            key = (row["date"], row["hour"], row["type"])
            rejects.append(Reject(
                reason=f"duplicate line for {row['date']:%Y%m%d} hour {row['hour']} type "
                       f"{row['type']}, first given on line {first[key]}",
                line=int(row["_line"]), field="type", value=row["type"],
                raw=_raw_line(table, idx)))
        ok = ok[~dup]
    return ok


def _raw_line(table: pd.DataFrame, idx: int) -> str:
    return ",".join(str(v) for v in table.loc[idx].drop("_line"))


def _to_station_hours(lines: pd.DataFrame, hour_label: str, rejects: list[Reject]) -> pd.DataFrame:
    # Every type is checked, carried or not: a garbled cell anywhere is reported.
    long = lines.melt(id_vars=["_line", *_KEYS], var_name="station_code", value_name="cell")
    long["cell"] = long["cell"].str.strip()
    long = long[~long["cell"].str.lower().isin(MISSING_TOKENS)]
    value = pd.to_numeric(long["cell"], errors="coerce")
    bad = value.isna() | (value < 0)
    long = long.assign(value=value, column=long["type"].map(TYPES))
    offset = 0 if hour_label == "ending" else 1
    hours = pd.to_timedelta(long["hour"] + offset, unit="h")
    long["ts"] = (long["date"] + hours).dt.tz_localize(BEIJING)
    _reject_bad_cells(long[bad], rejects)
    good = long[~bad & long["column"].notna()]
    wide = good.pivot_table(index=["station_code", "ts"], columns="column", values="value",
                            aggfunc="first")
    lines_of = good.groupby(["station_code", "ts"])["_line"].min()
    frame = wide.reindex(columns=[c for c in PARSED_COLUMNS if c not in ("station_code", "ts",
                                                                          "source_line")])
    frame = frame.assign(source_line=lines_of).reset_index()
    frame["station_code"] = frame["station_code"].astype("str")
    return frame[list(PARSED_COLUMNS)].astype({c: "float64" for c in PARSED_COLUMNS[2:-1]})


def _reject_bad_cells(bad: pd.DataFrame, rejects: list[Reject]) -> None:
    """One reject per malformed or negative cell; the cell is left out.

    The station-hour keeps its other values: a garbled O3_8h cell must not
    cost the hour's PM2.5. A dropped pollutant is then missing for that hour,
    as an empty cell would be (and the hour's AQI says it is incomplete).
    """
    columns = ("_line", "date", "hour", "type", "station_code", "cell", "value", "ts")
    for line, day, hour, kind, station, cell, value, ts in zip(
            *(bad[c] for c in columns), strict=True):
        what = "negative value" if pd.notna(value) else "not a number"
        rejects.append(Reject(
            reason=f"{what} {cell!r} for {kind} at station {station}, {ts:%Y-%m-%d %H:%M}",
            line=int(line), field=str(station), value=str(cell),
            raw=f"{day:%Y%m%d},{hour},{kind},{station}={cell}"))


def _window(name: str, hour_label: str) -> tuple[datetime, datetime] | None:
    match = _NAME_DATE.search(name)
    if not match:
        return None
    try:
        day = datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=BEIJING)
    except ValueError:
        return None
    first = day if hour_label == "ending" else day + timedelta(hours=1)
    return first, first + timedelta(hours=23)


def file_date(name: str) -> date | None:
    """The day a station archive file's name says it holds."""
    match = _NAME_DATE.search(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None
