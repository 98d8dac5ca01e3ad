"""The national surface-water automatic monitoring real-time release (cnemc-water).

Each page is a JSON object {thead, tbody, total, records}: `thead` the column
headers (simplified Chinese, unit in brackets), `tbody` one list of cells per
section in the header's order, `total` the number of pages and `records` the
number of sections in the whole release. Cells in the order of the release:
省份, 流域, 断面名称, 监测时间, 水质类别, 水温(℃), pH(无量纲), 溶解氧(mg/L),
电导率(μS/cm), 浊度(NTU), 高锰酸盐指数(mg/L), 氨氮(mg/L), 总磷(mg/L), 总氮(mg/L),
叶绿素α(mg/L), 藻密度(cells/L). Columns are found by header, not position.

A cell is plain text or an HTML span. A value span's `title` holds the raw
value (`原始值：0.035`) while its text may be rounded; envmon uses the raw
value, so a value span without that title is refused (cell-level reject, the
reading keeps its other items). The section span's title carries the city
and river (`所在地市:苏州市;所属河流:太浦河`, the separator may also be a line
break or `&#10;`). `--` is missing. 水质类别 is the publisher's class: kept as
`feed_class`, never used as envmon's class.

监测时间 is `MM-DD HH:MM` without a year: the year is the fetch time's, unless
that puts the reading after the fetch (plus a tolerance for clocks), in which
case it is the previous year (a December reading fetched in January). A date
that does not exist (02-30) is refused. The page carries no other date (not
in its fields, not in its cells), so its fetch time cannot be read from it:
when the only fetch time is a file's modification time and it puts no
reading in the window, the page is refused with one line asking for
--fetched-at, instead of every reading being quarantined for a guessed year.

A value outside its plausible range (checks/water_readings.yaml `cells`) is
refused cell by cell like a malformed one (common.refuse_out_of_range).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from envmon.core.errors import InputError
from envmon.core.parsing import MISSING_TOKENS, ParseResult, Reject, decode_text
from envmon.core.strict_json import load_json
from envmon.core.timeutil import BEIJING
from envmon.water.sources.common import (
    NUMBER,
    feed_class,
    item_column,
    normalise_province,
    refuse_out_of_range,
    refused_list,
    registry_by_feed_name,
    to_frame,
    unregistered_code,
)

# Non-item columns of the release; `None` marks columns read but not carried.
META_HEADERS: dict[str, str | None] = {
    "省份": "province", "流域": "basin", "断面名称": "section", "监测时间": "time",
    "水质类别": "class", "站点情况": None,
}
REQUIRED = ("province", "section", "time")

_SPAN = re.compile(r"<span\b(?P<attrs>[^>]*)>(?P<text>.*?)</span>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"""\btitle\s*=\s*(?:'(?P<a>[^']*)'|"(?P<b>[^"]*)")""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_RAW_VALUE = re.compile(r"原始值\s*[：:]\s*(?P<value>.*)$", re.DOTALL)
_MISSING = pa.array(sorted(MISSING_TOKENS), type=pa.string())
_TIME = re.compile(r"^(?:(?P<y>\d{4})-)?(?P<m>\d{1,2})-(?P<d>\d{1,2})"
                   r"\s+(?P<H>\d{1,2}):(?P<M>\d{2})$")


@dataclass(frozen=True)
class Page:
    """One page as delivered: its bytes and the name errors should use."""

    data: bytes
    name: str


@dataclass(frozen=True)
class PageInfo:
    """What a page says about the release it belongs to."""

    rows: int
    total_pages: int | None
    records: int | None


@dataclass(frozen=True)
class _Origin:
    """Where a kept record came from: its page's prefix and columns, and its cells."""

    where: str
    positions: dict[str, int]  # item or meta key -> position in the record
    cells: list


def parse_pages(pages: list[Page], *, fetched_at: datetime, tolerance: timedelta,
                max_age: timedelta, fetched_at_is_file_time: bool = False) -> ParseResult:
    """Parse the pages of one fetch into PARSED_COLUMNS.

    `fetched_at` (tz-aware) gives the year of each reading; the window the
    checks hold readings to is [fetched_at - max_age, fetched_at + tolerance].
    A page that is not a JSON release page is an InputError naming it.
    `fetched_at_is_file_time`: `fetched_at` is only a file's modification
    time (nobody recorded the fetch); when it puts no reading in the window
    it is wrong, not the readings, and the pages are an InputError saying
    to pass --fetched-at.
    """
    registry = registry_by_feed_name()
    fetched = fetched_at.astimezone(BEIJING)
    frames: list[pd.DataFrame] = []
    rejects: list[Reject] = []
    origins: list[_Origin] = []  # per kept record, in the order of the frames
    first_seen: dict[tuple[str, datetime], str] = {}
    for number, page in enumerate(pages, start=1):
        payload = load_page(page)
        columns = header_columns(payload["thead"], page.name)
        where = f"page {number}, " if len(pages) > 1 else ""
        positions = {str(key): i for i, (kind, key, _) in enumerate(columns) if key}
        values = PageValues(payload["tbody"], columns)
        kept: list[dict[str, object]] = []
        for index, cells in enumerate(payload["tbody"], start=1):
            parsed = _row(cells, index, columns, fetched, tolerance, registry, rejects, where,
                          values)
            if parsed is None:
                continue
            key = (str(parsed["section_code"]), parsed["ts"])
            if key in first_seen:
                rejects.append(Reject(f"{where}duplicate section and time (first at "
                                      f"{first_seen[key]})", line=index, field="断面名称",
                                      value=key[0], raw=_raw(cells)))
                continue
            first_seen[key] = f"{page.name} record {index}"
            kept.append(parsed)
            origins.append(_Origin(where, positions, cells))
        frames.append(values.frame(kept))
    window = (fetched - max_age, fetched + tolerance)
    frame = to_frame(pd.concat(frames, ignore_index=True))
    if fetched_at_is_file_time:
        _check_file_time(frame, origins, window, fetched, max_age,
                         ", ".join(p.name for p in pages))

    def origin(position: int, item: str) -> tuple[str, str, str | None, str]:
        record = origins[position]
        return (record.where, item, _short(record.cells[record.positions[item]]),
                _raw(record.cells))

    return ParseResult(frame=refuse_out_of_range(frame, rejects, origin), rejects=rejects,
                       window=window)


def _check_file_time(frame: pd.DataFrame, origins: list[_Origin],
                     window: tuple[datetime, datetime], fetched: datetime, max_age: timedelta,
                     names: str) -> None:
    """InputError when a file's time, taken for the fetch time, puts no reading in the window.

    Nothing else on the page dates it, so a page copied or archived later
    would otherwise have every reading quarantined for a year and a window
    guessed from the copy. Some readings inside: the file's time is close
    enough, and the checks judge the rest as they would with a known fetch.
    """
    if frame.empty:
        return
    ts = frame["ts"]
    if ((ts >= window[0]) & (ts <= window[1])).any():
        return
    stamps = [_text(o.cells[o.positions["time"]]) for o in origins]
    if all((m := _TIME.match(s)) and m["y"] for s in stamps):
        first, last = ts.min(), ts.max()
        said = f"readings dated {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    else:
        said = "readings carry no year (MM-DD HH:MM)"
    raise InputError(f"{said}; the file's time {fetched:%Y-%m-%d} puts none of them in the "
                     f"last {max_age.days} days: pass --fetched-at with the time the page was "
                     "fetched", file=names)


class PageValues:
    """The item cells of a page's well-formed records, parsed column-wise.

    The release's usual cells (a value span with the raw value in its
    title, `--`) are read with one Arrow regex over the page; any other
    cell goes through cell_value, so both ways give the same result.
    """

    def __init__(self, tbody: list, columns: list[tuple[str, str | None, float]]) -> None:
        # (position in the record, item, unit factor) of each item column
        self.items = [(i, key, factor) for i, (kind, key, factor) in enumerate(columns)
                      if kind == "item"]
        self._positions = [i for i, _, _ in self.items]
        self._rows: dict[int, int] = {}  # tbody index -> row of the matrix
        cells: list[object] = []
        for index, record in enumerate(tbody):
            if isinstance(record, list) and len(record) == len(columns):
                self._rows[index] = len(self._rows)
                cells.extend(record[i] for i in self._positions)
        values, problems = item_values(cells)
        width = max(len(self._positions), 1)
        self._values = values.reshape(len(self._rows), len(self._positions))
        self._any = ~np.isnan(self._values).all(axis=1)
        self._problems: dict[int, dict[int, str]] = {}
        for k, why in problems.items():
            self._problems.setdefault(k // width, {})[k % width] = why

    def has_value(self, index: int) -> bool:
        """Whether tbody record `index` (0-based) has a value for any item."""
        return bool(self._any[self._rows[index]])

    def problems(self, index: int) -> dict[int, str]:
        """Why each refused item cell of tbody record `index` was, by item slot."""
        return self._problems.get(self._rows[index], {})

    def frame(self, kept: list[dict[str, object]]) -> pd.DataFrame:
        """The kept records (_row's fields, with `source_line`) and their items' values."""
        out = pd.DataFrame(kept, columns=list(_META_FIELDS))
        rows = [self._rows[line - 1] for line in out["source_line"]]
        factors = np.array([factor for _, _, factor in self.items])
        block = self._values[rows] * factors
        for slot, (_, item, _) in enumerate(self.items):
            out[item] = block[:, slot]
        return out


# A value span exactly as the release writes it; digits only, so Arrow and
# Python read the number the same way.
_PLAIN_SPAN = r"^<span title='原始值：(?P<value>\d+(?:\.\d+)?)'>[^<]*</span>$"


def item_values(cells: list[object]) -> tuple[np.ndarray, dict[int, str]]:
    """Per cell its value (NaN when missing or refused), and why each refused cell was."""
    texts = pa.array([c if type(c) is str else None for c in cells], type=pa.string())
    plain = pc.extract_regex(texts, _PLAIN_SPAN)
    values = pc.cast(pc.struct_field(plain, "value"), pa.float64()).to_numpy(
        zero_copy_only=False)
    done = (pc.is_valid(plain).to_numpy(zero_copy_only=False)
            | pc.fill_null(pc.is_in(texts, value_set=_MISSING), False).to_numpy(
                zero_copy_only=False))
    problems: dict[int, str] = {}
    for k in np.flatnonzero(~done):
        value, problem = cell_value(cells[k])
        values[k] = np.nan if value is None else value
        if problem:
            problems[int(k)] = problem
    return values, problems


def load_page(page: Page) -> dict:
    """The page's JSON object, checked for the release's shape."""
    payload = load_json(decode_text(page.data, page.name), name=page.name)
    if not isinstance(payload, dict):
        raise InputError("not a release page: expected a JSON object with thead and tbody",
                         file=page.name)
    for key in ("thead", "tbody"):
        if not isinstance(payload.get(key), list):
            raise InputError(f"not a release page: {key!r} is missing or not a list",
                             file=page.name, field=key)
    for key in ("total", "records"):
        value = payload.get(key)
        if value is not None and not _is_count(value):
            raise InputError(f"{key!r} is {value!r}, not a count", file=page.name, field=key)
    return payload


def page_info(page: Page) -> PageInfo:
    payload = load_page(page)
    return PageInfo(rows=len(payload["tbody"]),
                    total_pages=_count(payload.get("total")),
                    records=_count(payload.get("records")))


def header_columns(thead: list, name: str) -> list[tuple[str, str | None, float]]:
    """Per header cell: (kind, item or meta key, unit factor). kind: meta | item | skip."""
    out: list[tuple[str, str | None, float]] = []
    seen: set[str] = set()
    for position, cell in enumerate(thead, start=1):
        text = _text(cell)
        if text in META_HEADERS:
            key = META_HEADERS[text]
            out.append(("meta", key, 1.0) if key else ("skip", None, 1.0))
            target = key or text
        else:
            item, factor = item_column(
                text, file=name, unknown=f"header {position} {text!r} is not a column of the "
                                         "release (not an item envmon knows)")
            out.append(("item", item, factor))
            target = item
        if target in seen:
            raise InputError(f"column {text!r} appears twice in thead", file=name, field=text)
        seen.add(target)
    missing = [k for k in REQUIRED if ("meta", k, 1.0) not in out]
    if missing:
        names = {v: k for k, v in META_HEADERS.items() if v}
        raise InputError(f"thead lacks {', '.join(names[m] for m in missing)}", file=name,
                         field="thead")
    return out


# ---------------------------------------------------------------- rows


_META_FIELDS = ("section_code", "section_name", "ts", "sample_kind", "feed_class",
                "feed_province", "feed_basin", "feed_city", "feed_river", "below_detection",
                "items_refused", "source_line")


def _row(cells: object, line: int, columns: list[tuple[str, str | None, float]],
         fetched: datetime, tolerance: timedelta, registry: dict[tuple[str, str], str],
         rejects: list[Reject], where: str, page: PageValues) -> dict[str, object] | None:
    """A record's own fields (_META_FIELDS), or None when refused whole; its item values
    stay in `page`."""
    if not isinstance(cells, list):
        rejects.append(Reject(f"{where}record is not a list of cells", line=line,
                              raw=_raw(cells)))
        return None
    if len(cells) != len(columns):
        rejects.append(Reject(f"{where}record has {len(cells)} cells, the header has "
                              f"{len(columns)}", line=line, raw=_raw(cells)))
        return None
    meta = {key: cell for (kind, key, _), cell in zip(columns, cells, strict=True)
            if kind == "meta"}
    section_name, city, river = section_cell(meta.get("section"))
    province = _text(meta.get("province"))
    stamp = _text(meta.get("time"))
    problem = None
    if not section_name or section_name.lower() in MISSING_TOKENS:
        problem = Reject(f"{where}no section name", line=line, field="断面名称",
                         value=_short(meta.get("section")), raw=_raw(cells))
    elif not province or province.lower() in MISSING_TOKENS:
        problem = Reject(f"{where}no province", line=line, field="省份", value=province,
                         raw=_raw(cells))
    else:
        ts, why = reading_time(stamp, fetched, tolerance)
        if ts is None:
            problem = Reject(f"{where}{why}", line=line, field="监测时间", value=stamp,
                             raw=_raw(cells))
    if problem is not None:
        rejects.append(problem)  # the row is refused whole; its cell problems go with it
        return None
    problems = page.problems(line - 1)
    for slot, why in sorted(problems.items()):
        position, item, _ = page.items[slot]
        rejects.append(Reject(f"{where}{why} in {item}", line=line, field=item,
                              value=_short(cells[position]), raw=_raw(cells)))
    if not page.has_value(line - 1):
        if not problems:
            rejects.append(Reject(f"{where}no measured value (every item is missing)",
                                  line=line, field="tbody", raw=_raw(cells)))
        return None
    code = registry.get((normalise_province(province), section_name))
    return {
        "section_code": code or unregistered_code(province, section_name),
        "section_name": section_name, "ts": ts, "sample_kind": "auto",
        "feed_class": feed_class(_text(meta.get("class"))),
        "feed_province": province, "feed_basin": _none_if_missing(_text(meta.get("basin"))),
        "feed_city": city, "feed_river": river, "below_detection": None,
        "items_refused": refused_list([page.items[slot][1] for slot in problems]),
        "source_line": line,
    }


def cell_value(cell: object) -> tuple[float | None, str | None]:
    """(value, None), (None, None) for missing, or (None, why it is refused)."""
    if cell is None:
        return None, None
    if isinstance(cell, bool):
        return None, "not a number"
    if isinstance(cell, int | float):
        text = repr(float(cell))
    else:
        text = str(cell).strip()
        span = _SPAN.search(text)
        if span:
            title = _title(span.group("attrs"))
            if title is None:
                inner = html.unescape(_TAG.sub("", span.group("text"))).strip()
                if inner.lower() in MISSING_TOKENS:
                    return None, None
                return None, "span without the raw value (no title)"
            match = _RAW_VALUE.search(title)
            if not match:
                return None, f"span title {title!r} does not hold 原始值"
            text = match.group("value").strip()
        elif "<" in text:
            return None, "unreadable HTML"
    if text.lower() in MISSING_TOKENS:
        return None, None
    if not NUMBER.match(text):
        return None, "not a number"
    value = float(text)
    if value < 0:
        return None, "negative value"
    return value, None


def section_cell(cell: object) -> tuple[str, str | None, str | None]:
    """(section name, city, river) from a plain cell or a span with the city/river title."""
    return _section_text("" if cell is None else str(cell).strip())


# Cached: the same sections come back on every page of every fetch.
@lru_cache(maxsize=16384)
def _section_text(text: str) -> tuple[str, str | None, str | None]:
    span = _SPAN.search(text)
    if not span:
        return html.unescape(_TAG.sub("", text)).strip(), None, None
    name = html.unescape(_TAG.sub("", span.group("text"))).strip()
    title = _title(span.group("attrs"))
    if not title:
        return name, None, None
    fields: dict[str, str] = {}
    for part in re.split(r"[;；\n\r]+", title):
        key, sep, value = part.partition(":") if ":" in part else part.partition("：")
        if sep:
            fields[key.strip()] = value.strip()
    return (name, _none_if_missing(fields.get("所在地市", "")),
            _none_if_missing(fields.get("所属河流", "")))


@lru_cache(maxsize=1024)
def reading_time(stamp: str, fetched: datetime, tolerance: timedelta
                 ) -> tuple[datetime | None, str]:
    """Beijing time of `MM-DD HH:MM`, with the year from the fetch time."""
    match = _TIME.match(stamp.strip())
    if not match:
        return None, "监测时间 is not MM-DD HH:MM"
    month, day = int(match["m"]), int(match["d"])
    hour, minute = int(match["H"]), int(match["M"])
    if match["y"]:
        years = [int(match["y"])]
    else:
        # The latest year that does not put the reading after its fetch (give
        # or take `tolerance` of clock difference): a December reading fetched
        # in January is the previous year's.
        years = [fetched.year + 1, fetched.year, fetched.year - 1]
    valid = []
    for year in years:
        try:
            valid.append(datetime(year, month, day, hour, minute, tzinfo=BEIJING))
        except ValueError:
            continue
    if not valid:
        return None, f"no such date or time: {stamp.strip()}"
    for moment in valid:
        if moment <= fetched + tolerance:
            return moment, ""
    return None, (f"no such date before the fetch time {fetched:%Y-%m-%d %H:%M}: "
                  f"{stamp.strip()}")


def _title(attrs: str) -> str | None:
    match = _TITLE.search(attrs)
    if not match:
        return None
    return html.unescape(match.group("a") if match.group("a") is not None else match.group("b"))


def _text(cell: object) -> str:
    return "" if cell is None else _plain(str(cell))


@lru_cache(maxsize=4096)
def _plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text)).strip()


def _none_if_missing(text: str | None) -> str | None:
    return None if text is None or text.strip().lower() in MISSING_TOKENS else text.strip()


def _is_count(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, str) and value.strip().isdigit()


def _count(value: object) -> int | None:
    return None if value is None else int(value)


def _raw(cells: object) -> str:
    return json.dumps(cells, ensure_ascii=False)[:2000]


def _short(cell: object) -> str | None:
    return None if cell is None else str(cell)[:200]
