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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from envmon.air.schema import FEED_AQI_OFF_SCALE, PARSED_COLUMNS, feed_aqi_off_scale
from envmon.air.sources.day_files import HOUR, DayClaim, date_in_name, day_start
from envmon.core.errors import InputError
from envmon.core.parsing import MISSING_TOKENS, ParseResult, Reject, decode_text
from envmon.core.timeutil import BEIJING

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
# What `hour` h of a file's `date` D may label (`air.hour_label`), as the hours
# from D h:00 to the END of the hour it averages, envmon's `ts`.
HOUR_LABELS: dict[str, int] = {"ending": 0, "beginning": 1}
_NAME_DATE = re.compile(r"china_(?:sites|cities)_(\d{8})")
_KEYS = ["date", "hour", "type"]
# What Arrow's string -> double cast reads exactly as pandas does.
_PLAIN_NUMBER = r"^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


def parse_china_sites(path: Path, *, name: str | None = None,
                      hour_label: str = "ending") -> ParseResult:
    """Parse one station archive file into canonical station-hour rows.

    `name` is the name the file was delivered under (landing renames files
    to their sha256); its date D claims hours 0-23 of D: a station-hour of
    another date is refused, saying so, and hours no row holds are named in
    a warning.
    """
    name = name or path.name
    if hour_label not in HOUR_LABELS:
        raise ValueError(f"hour_label must be one of {tuple(HOUR_LABELS)}, not {hour_label!r}")
    rejects: list[Reject] = []
    table = _read(path, name, rejects)
    lines = _valid_lines(table, rejects)
    frame = _to_station_hours(lines, hour_label, rejects)
    claim = day_claim(name, hour_label)
    if claim is None:
        return ParseResult(frame=frame, rejects=rejects)
    frame = _refuse_other_days(frame, claim, hour_label, rejects)
    return ParseResult(frame=frame, rejects=rejects, window=claim.window,
                       warnings=claim.warnings(frame["ts"]))


def day_claim(name: str, hour_label: str) -> DayClaim | None:
    """Hours 0-23 of the date in the file's name, as hour ends under `hour_label`."""
    match = _NAME_DATE.search(name)
    day = date_in_name(match.group(1)) if match else None
    if day is None:
        return None
    return DayClaim(name=name, zero=day_start(day) + HOUR_LABELS[hour_label] * HOUR, last=23,
                    days=(range(24),))


@dataclass
class _Table:
    """The file's lines: keys as columns, the station cells as one 2-D array.

    A wide file is a regular grid (line = hour x type, column = station), so
    the cells are converted and reshaped as one array rather than melted into
    a long frame and pivoted back: at 2,000 stations a file holds 720,000
    cells, and per-cell pandas objects made parsing 70 % of an air backfill.
    """

    keys: pd.DataFrame  # _line, date, hour, type (text as delivered)
    cells: np.ndarray  # object array, one row per line, one column per station
    stations: list[str]

    def raw_line(self, row: int) -> str:
        return ",".join([*(str(v) for v in self.keys.iloc[row, 1:]), *self.cells[row]])


def _read(path: Path, name: str, rejects: list[Reject]) -> _Table:
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
    grid = np.array(rows, dtype=object).reshape(len(rows), len(header))
    # Line numbers as a person sees them in an editor: header is line 1.
    keys = pd.DataFrame({"_line": np.array(lines, dtype="int64"),
                         **{k: grid[:, i].astype(str) for i, k in enumerate(_KEYS)}})
    return _Table(keys=keys, cells=grid[:, 3:], stations=header[3:])


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


def _valid_lines(table: _Table, rejects: list[Reject]) -> _Table:
    """Drop lines with a bad date, hour or type, or repeating an earlier line."""
    keys = table.keys
    day = pd.to_datetime(keys["date"].str.strip(), format="%Y%m%d", errors="coerce")
    hour = pd.to_numeric(keys["hour"].str.strip(), errors="coerce")
    kind = keys["type"].str.strip()
    problems = pd.Series("", index=keys.index, dtype="str")
    problems = problems.mask(day.isna(), "bad date (expected YYYYMMDD)")
    bad_hour = hour.isna() | (hour % 1 != 0) | (hour < 0) | (hour > 23)
    problems = problems.mask((problems == "") & bad_hour, "bad hour (expected 0-23)")
    problems = problems.mask((problems == "") & ~kind.isin(list(TYPES)), "unknown type")
    fields = {"bad date (expected YYYYMMDD)": "date", "bad hour (expected 0-23)": "hour",
              "unknown type": "type"}
    for idx in problems[problems != ""].index:
        reason = problems[idx]
        fld = fields[reason]
        value = str(keys.at[idx, fld])
        rejects.append(Reject(reason=f"{reason}: {value!r}", line=int(keys.at[idx, "_line"]),
                              field=fld, value=value, raw=table.raw_line(idx)))
    keep = problems == ""
    ok = keys[keep].assign(date=day[keep], hour=hour[keep].astype(int), type=kind[keep])
    dup = ok.duplicated(subset=_KEYS, keep="first")
    if dup.any():
        first = ok[~dup].set_index(_KEYS)["_line"]
        for idx, row in ok[dup].iterrows():
            key = (row["date"], row["hour"], row["type"])
            rejects.append(Reject(
                reason=f"duplicate line for {row['date']:%Y%m%d} hour {row['hour']} type "
                       f"{row['type']}, first given on line {first[key]}",
                line=int(row["_line"]), field="type", value=row["type"],
                raw=table.raw_line(idx)))
        ok = ok[~dup]
    return _Table(ok.reset_index(drop=True), table.cells[ok.index.to_numpy()], table.stations)


def _to_station_hours(lines: _Table, hour_label: str, rejects: list[Reject]) -> pd.DataFrame:
    keys = lines.keys
    values, bad = _cell_values(lines.cells)
    aqi = (keys["type"] == "AQI").to_numpy()
    bad[aqi] |= feed_aqi_off_scale(values[aqi])
    ts = (keys["date"] + pd.to_timedelta(keys["hour"] + HOUR_LABELS[hour_label], unit="h")
          ).dt.tz_localize(BEIJING)
    # Every type is checked, carried or not: a garbled cell anywhere is reported.
    _reject_bad_cells(lines, values, bad, ts, rejects)
    values[bad] = np.nan
    hour_of_line, hours = pd.factorize(ts, sort=True)
    columns = [c for c in PARSED_COLUMNS if c not in ("station_code", "ts", "source_line")]
    grids = {c: np.full((len(hours), len(lines.stations)), np.nan) for c in columns}
    # The first line giving any of a station-hour's values (lines are unique per hour and type).
    none = np.iinfo("int64").max
    first_line = np.full((len(hours), len(lines.stations)), none)
    line_no = keys["_line"].to_numpy()
    for rows in pd.Series(range(len(keys))).groupby(keys["type"].map(TYPES)).groups.values():
        rows = np.asarray(rows)
        column = TYPES[keys["type"].iat[rows[0]]]
        at = hour_of_line[rows]
        grids[column][at] = values[rows]
        given = np.where(np.isnan(values[rows]), none, line_no[rows][:, None])
        first_line[at] = np.minimum(first_line[at], given)
    # Station-major, hours ascending: the order the lake partitions are sorted in.
    order = np.argsort(np.array(lines.stations, dtype=object), kind="stable")
    station_i, hour_i = np.nonzero((first_line < none)[:, order].T)
    station_col = order[station_i]
    frame = pd.DataFrame({
        "station_code": pd.array(np.array(lines.stations, dtype=object)[station_col], dtype="str"),
        "ts": hours[hour_i],
        **{c: grids[c][hour_i, station_col] for c in columns},
        "source_line": first_line[hour_i, station_col].astype("int64")})
    return frame[list(PARSED_COLUMNS)]


def _cell_values(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All cells as numbers at once, and which of them are malformed or negative.

    Plain unsigned decimals, nearly every cell, are cast by Arrow in one call;
    the few others (empty, dashes, NA, a sign, garbage) are stripped and read
    with pandas, so their outcome is what it always was. Missing tokens
    become NaN without being malformed; infinity (1e309, "inf") is malformed.
    """
    text = pc.utf8_trim_whitespace(pa.array(cells.ravel(), type=pa.string()))
    plain = pc.match_substring_regex(text, _PLAIN_NUMBER)
    values = pc.cast(pc.if_else(plain, text, None), pa.float64()).to_numpy(zero_copy_only=False)
    values = values.copy()  # Arrow's buffer is read-only
    missing = np.zeros(len(values), dtype=bool)
    others = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    if len(others):
        stripped = pd.Series(cells.ravel()[others], dtype=object).str.strip()
        token = stripped.str.lower().isin(MISSING_TOKENS).to_numpy()
        missing[others[token]] = True
        read = pd.to_numeric(stripped[~token], errors="coerce")
        values[others[~token]] = read.to_numpy(dtype="float64")
    bad = (np.isnan(values) & ~missing) | np.isinf(values) | (values < 0)
    return values.reshape(cells.shape), bad.reshape(cells.shape)


def _reject_bad_cells(lines: _Table, values: np.ndarray, bad: np.ndarray, ts: pd.Series,
                      rejects: list[Reject]) -> None:
    """One reject per malformed, negative or off-scale (AQI) cell; the cell is left out.

    The station-hour keeps its other values: a garbled O3_8h cell must not
    cost the hour's PM2.5. A dropped pollutant is then missing for that hour,
    as an empty cell would be (and the hour's AQI says it is incomplete).
    """
    keys = lines.keys
    station_i, row_i = np.nonzero(bad.T)
    for row, col in zip(row_i.tolist(), station_i.tolist(), strict=True):
        cell = str(lines.cells[row, col]).strip()
        station, kind = lines.stations[col], keys["type"].iat[row]
        what = _why_bad(values[row, col])
        rejects.append(Reject(
            reason=f"{what} {cell!r} for {kind} at station {station}, {ts.iat[row]:%Y-%m-%d %H:%M}",
            line=int(keys["_line"].iat[row]), field=str(station), value=cell,
            raw=f"{keys['date'].iat[row]:%Y%m%d},{keys['hour'].iat[row]},{kind},{station}={cell}"))


def _why_bad(value: float) -> str:
    if np.isnan(value):
        return "not a number"
    if np.isinf(value):
        return "not a finite number"
    if value < 0:
        return "negative value"
    return FEED_AQI_OFF_SCALE  # the only other way a cell is bad


def _refuse_other_days(frame: pd.DataFrame, claim: DayClaim, hour_label: str,
                       rejects: list[Reject]) -> pd.DataFrame:
    """Refuse the station-hours of lines dated another day than the file's name.

    Refused per station-hour, not per line, so a misnamed file counts the
    rows it would have loaded.
    """
    outside = claim.outside(frame["ts"])
    if not outside.any():
        return frame
    refused = frame[outside]
    # Back from hour end to the line's own date and hour, as the file writes them.
    labelled = refused["ts"] - HOUR_LABELS[hour_label] * HOUR
    for code, line, at in zip(refused["station_code"], refused["source_line"], labelled,
                              strict=True):
        day = f"{at:%Y%m%d}"
        rejects.append(Reject(reason=claim.refusal(f"date {day} hour {at.hour}"), line=int(line),
                              field="date", value=day, raw=f"{day},{at.hour},station={code}"))
    return frame[~outside].reset_index(drop=True)
