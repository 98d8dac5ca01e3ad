"""Monthly laboratory results (lab-monthly): one CSV row per section and sampling date.

The contract envmon reads (no national exchange format is public):

    断面编码,断面名称,采样日期,采样时间,水温(℃),pH(无量纲),溶解氧(mg/L),COD(mg/L),...,粪大肠菌群(个/L)

- `断面编码` (or `section_code`) and `采样日期` (or `sample_date`, YYYY-MM-DD or
  YYYY/MM/DD) are required; `断面名称`/`section_name` and `采样时间`/`sample_time`
  (HH:MM, default 00:00) are optional.
- Every other column is an item of GB 3838-2002 Table 1 (or chlorophyll a,
  algal density, Secchi depth, conductivity, turbidity), named in Chinese,
  English or by its usual symbol, with its unit in brackets. An item envmon
  does not know, or a unit of the wrong kind (氨氮(个/L)), is an InputError
  naming the column; a unit of the right kind (μg/L) is converted.
- Cells: a number; empty or `--` for not measured; a value below the
  detection limit as `0.01L` or `<0.01` (the lab-report conventions), stored
  as a fraction of the limit (`water.below_detection_factor`, default 0.5:
  half the detection limit, UNCONFIRMED as the evaluation method's rule) and
  listed in `below_detection`.
- A file name holding YYYYMM (lab_monthly_202610.csv) claims that month: rows
  sampled outside it are quarantined by the checks.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, time
from pathlib import Path

from envmon.core.errors import InputError
from envmon.core.parsing import MISSING_TOKENS, ParseResult, Reject, decode_text, read_csv_table
from envmon.core.timeutil import BEIJING
from envmon.water.reference import load_sections
from envmon.water.sources.common import (
    NUMBER,
    item_column,
    refuse_out_of_range,
    refused_list,
    to_frame,
)

META = {"断面编码": "code", "section_code": "code", "断面名称": "name", "section_name": "name",
        "采样日期": "date", "sample_date": "date", "采样时间": "time", "sample_time": "time"}
_BELOW = re.compile(r"^(?:<\s*(?P<a>[0-9.eE+-]+)|(?P<b>[0-9.eE+-]+)\s*[lL])$")
_MONTH_IN_NAME = re.compile(r"(?<!\d)(\d{4})(\d{2})(?!\d)")


def parse_lab_monthly(path: Path, *, name: str | None = None,
                      below_detection_factor: float = 0.5) -> ParseResult:
    path = Path(path)
    name = name or path.name
    text = decode_text(path.read_bytes(), name)
    header, lines = read_csv_table(text, name)
    columns = _columns(header, name)
    names = dict(zip(load_sections()["section_code"], load_sections()["section_name"],
                     strict=True))
    rows: list[dict[str, object]] = []
    kept_cells: list[list[str]] = []  # each kept row's cells, for its refused cells' rejects
    rejects: list[Reject] = []
    first: dict[tuple[str, datetime], int] = {}
    for line, cells in lines:
        row = _row(cells, line, columns, names, below_detection_factor, rejects)
        if row is None:
            continue
        key = (str(row["section_code"]), row["ts"])
        if key in first:
            rejects.append(Reject(f"duplicate section and sampling time (first at line "
                                  f"{first[key]})", line=line, field="断面编码", value=key[0],
                                  raw=",".join(cells)))
            continue
        first[key] = line
        rows.append(row)
        kept_cells.append(cells)
    position_of = {key: (i, label) for i, (kind, key, _, label) in enumerate(columns)
                   if kind == "item"}

    def origin(position: int, item: str) -> tuple[str, str, str | None, str]:
        cells = kept_cells[position]
        at, label = position_of[item]
        return "", label, cells[at].strip(), ",".join(cells)

    frame = refuse_out_of_range(to_frame(rows), rejects, origin)
    return ParseResult(frame=frame, rejects=rejects, window=month_window(name))


def month_window(name: str) -> tuple[datetime, datetime] | None:
    for year, month in _MONTH_IN_NAME.findall(name):
        y, m = int(year), int(month)
        if 1 <= m <= 12 and 1990 <= y <= 2100:
            last = calendar.monthrange(y, m)[1]
            return (datetime(y, m, 1, tzinfo=BEIJING),
                    datetime(y, m, last, 23, 59, 59, tzinfo=BEIJING))
    return None


def _columns(header: list[str], name: str) -> list[tuple[str, str, float, str]]:
    """Per column: (kind meta|item, key, unit factor, header text)."""
    out: list[tuple[str, str, float, str]] = []
    seen: set[str] = set()
    for position, raw in enumerate(header, start=1):
        text = raw.strip().lstrip("\ufeff").strip()
        if text in META:
            kind, key, factor = "meta", META[text], 1.0
        else:
            key, factor = item_column(
                text, file=name, unknown=f"column {position} {text!r} is not an item envmon "
                                         "knows (see reference/water/items.csv)")
            kind = "item"
        if key in seen:
            raise InputError(f"column {text!r} repeats {key!r}", file=name, field=text)
        seen.add(key)
        out.append((kind, key, factor, text))
    for key, label in (("code", "断面编码"), ("date", "采样日期")):
        if key not in seen:
            raise InputError(f"missing required column {label!r}", file=name, field=label)
    return out


def _row(cells: list[str], line: int, columns: list[tuple[str, str, float, str]],
         names: dict[str, str], factor_below: float, rejects: list[Reject]
         ) -> dict[str, object] | None:
    raw = ",".join(cells)
    if len(cells) != len(columns):
        rejects.append(Reject(f"row has {len(cells)} cells, the header has {len(columns)}",
                              line=line, raw=raw))
        return None
    meta: dict[str, str] = {}
    values: dict[str, float] = {}
    below: list[str] = []
    bad: list[Reject] = []
    bad_items: list[str] = []
    for (kind, key, factor, header), cell in zip(columns, cells, strict=True):
        text = cell.strip()
        if kind == "meta":
            meta[key] = text
            continue
        if text.lower() in MISSING_TOKENS:
            continue
        match = _BELOW.match(text)
        if match:
            limit = match.group("a") or match.group("b")
            if not NUMBER.match(limit) or float(limit) < 0:
                bad.append(Reject(f"bad detection limit in {key}", line=line, field=header,
                                  value=text, raw=raw))
                bad_items.append(key)
                continue
            values[key] = float(limit) * factor * factor_below
            below.append(key)
        elif NUMBER.match(text):
            value = float(text)
            if value < 0:
                bad.append(Reject(f"negative value in {key}", line=line, field=header,
                                  value=text, raw=raw))
                bad_items.append(key)
            else:
                values[key] = value * factor
        else:
            bad.append(Reject(f"not a number in {key}", line=line, field=header, value=text,
                              raw=raw))
            bad_items.append(key)
    code = meta.get("code", "")
    if not code:
        rejects.append(Reject("empty section code", line=line, field="断面编码", raw=raw))
        return None
    ts = _timestamp(meta.get("date", ""), meta.get("time", ""))
    if ts is None:
        rejects.append(Reject("sampling date/time is not YYYY-MM-DD [HH:MM] (or no such date)",
                              line=line, field="采样日期",
                              value=f"{meta.get('date', '')} {meta.get('time', '')}".strip(),
                              raw=raw))
        return None
    rejects.extend(bad)
    if not values:
        if not bad:
            rejects.append(Reject("no measured value", line=line, field="items", raw=raw))
        return None
    row: dict[str, object] = {
        "section_code": code, "section_name": meta.get("name") or names.get(code) or code,
        "ts": ts, "sample_kind": "lab", "feed_class": None, "feed_province": None,
        "feed_basin": None, "feed_city": None, "feed_river": None,
        "below_detection": ",".join(below) or None, "items_refused": refused_list(bad_items),
        "source_line": line,
    }
    row.update(values)
    return row


def _timestamp(day: str, clock: str) -> datetime | None:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        try:
            when = datetime.strptime(day, fmt).date()
            break
        except ValueError:
            continue
    else:
        return None
    at = time(0, 0)
    if clock:
        try:
            at = datetime.strptime(clock, "%H:%M").time()
        except ValueError:
            return None
    return datetime.combine(when, at, tzinfo=BEIJING)
