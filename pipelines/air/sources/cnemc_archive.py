"""CNEMC hourly archive, long format: one CSV row per station and hour.

Columns: timepoint, stationcode, longitude, latitude, area, positionname,
primarypollutant, aqi, pm10, pm10_24h, pm2_5, pm2_5_24h, o3, o3_24h, o3_8h,
o3_8h_24h, no2, no2_24h, so2, so2_24h, co, co_24h. Units are GB 3095's:
µg/m³, CO mg/m³. `timepoint` is Beijing time and labels the END of the
averaging hour, as CNEMC's real-time releases do.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd

from pipelines.air.schema import (
    FEED_AQI_OFF_SCALE,
    MOVING_24H,
    PARSED_COLUMNS,
    POLLUTANTS,
    feed_aqi_off_scale,
)
from pipelines.core.errors import InputError
from pipelines.core.parsing import MISSING_TOKENS, ParseResult, Reject, decode_text
from pipelines.core.timeutil import BEIJING

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

TIMEPOINT_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
)
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
    their sha256): errors name it, and a YYYYMMDD date in it gives `window`,
    that natural day. Rows with a bad timepoint, station code or concentration
    cell become Rejects and are left out of the frame; a bad or off-scale
    `aqi` cell is refused alone and the row kept without feed_aqi.
    """
    path = Path(path)
    name = name or path.name
    table = _read_table(path, name)
    table.require([*KEY_COLUMNS, *VALUE_COLUMNS])
    rows: list[dict[str, object]] = []
    rejects: list[Reject] = []
    first_line: dict[tuple[str, datetime], int] = {}
    for line, cells in table.rows:
        parsed, cell_rejects = _parse_row(table, line, cells)
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
    return ParseResult(frame=_to_frame(rows), rejects=rejects, window=window_from_name(name))


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


def window_from_name(name: str) -> tuple[datetime, datetime] | None:
    """[D 01:00, D+1 00:00] Beijing for the YYYYMMDD date D in `name`, else None.

    Hours are labelled by their end, so the natural day D (HJ 663, 00:00-24:00)
    is the hours ending 01:00 of D through 00:00 of D+1. Two or more dates in
    the name claim the span from the first to the last.
    """
    days = sorted({d for d in (_as_date(m) for m in _DATE_IN_NAME.findall(name)) if d})
    if not days:
        return None
    first = datetime.combine(days[0], time(1), tzinfo=BEIJING)
    last = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=BEIJING)
    return (first, last)


# ---------------------------------------------------------------- reading


def _read_table(path: Path, name: str) -> _Table:
    text = _decode(path, name)
    if not text.strip():
        raise InputError("empty file", file=name)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # blank line
            if header is None:
                header = cells
            else:
                rows.append((reader.line_num, cells))
    except csv.Error as exc:  # a cell over csv's field size limit (128 KiB), say
        raise InputError(f"not a CSV table: {exc}", file=name, row=reader.line_num) from None
    if header is None:  # only separators, no content
        raise InputError("empty file", file=name)
    columns = _header_positions(header, name)
    if not rows:
        raise InputError("no rows", file=name)
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


def _parse_row(table: _Table, line: int,
               cells: list[str]) -> tuple[dict[str, object] | Reject, list[Reject]]:
    """(the row, its refused cells), or (the Reject refusing it whole, []).

    A bad key or concentration cell refuses the row. A feed AQI envmon
    cannot use costs only that cell: it is a cross-check, never used, and
    must not cost the hour's measurements.
    """
    raw = ",".join(cells)
    if len(cells) != table.width:
        return Reject(f"row has {len(cells)} fields, header has {table.width}", line=line,
                      raw=raw), []
    code = table.cell(cells, "stationcode")
    if not code:
        return Reject("empty station code", line=line, field="stationcode", raw=raw), []
    stamp = table.cell(cells, "timepoint")
    ts = parse_timepoint(stamp)
    if ts is None:
        return Reject("timepoint is not a Beijing time on the hour (YYYY-MM-DD HH:00[:00])",
                      line=line, field="timepoint", value=stamp, raw=raw), []
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


def parse_timepoint(text: str) -> datetime | None:
    """`2026-10-01 13:00:00` or `2026/10/1 13:00` as tz-aware Beijing time, else None."""
    for fmt in TIMEPOINT_FORMATS:
        try:
            moment = datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        if (moment.minute, moment.second) != (0, 0):
            return None
        return moment.replace(tzinfo=BEIJING)
    return None


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


def _as_date(digits: str) -> date | None:
    try:
        return datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        return None


def _to_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    numeric = [*POLLUTANTS, *MOVING_24H, "feed_aqi"]
    frame = pd.DataFrame(rows, columns=list(PARSED_COLUMNS))
    return frame.astype({
        "station_code": "str",
        "ts": pd.DatetimeTZDtype(unit="us", tz=BEIJING),
        **dict.fromkeys(numeric, "float64"),
        "source_line": "int64",
    })
