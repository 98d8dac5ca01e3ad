"""What both water parsers share: the frame they return, the cell ranges and the registry match."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import pandas as pd

from envmon.core.config import load_yaml
from envmon.core.errors import ConfigError, InputError
from envmon.core.parsing import Reject
from envmon.core.settings import CHECKS_DIR
from envmon.core.timeutil import BEIJING
from envmon.water.reference import (
    class_name,
    class_rank,
    item_names,
    item_units,
    load_sections,
    normalise_name,
    province_names_zh,
    sections_version,
)
from envmon.water.schema import ITEMS, PARSED_COLUMNS
from envmon.water.units import do_saturation, factor_to, split_header

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TEXT_COLUMNS = ("section_code", "section_name", "sample_kind", "feed_class", "feed_province",
                 "feed_basin", "feed_city", "feed_river", "below_detection", "items_refused")
# The suite whose `cells` list holds the ranges (the GX kinds ignore that key).
CHECKS_FILE = CHECKS_DIR / "water_readings.yaml"
# Values a range may judge besides the items: computed from the kept cells.
_DERIVED = ("do_saturation_pct",)


def to_frame(rows: list[dict[str, object]] | pd.DataFrame) -> pd.DataFrame:
    """Parsed rows (dicts, or a frame) -> PARSED_COLUMNS with their dtypes and DO saturation."""
    frame = pd.DataFrame(rows, columns=list(PARSED_COLUMNS))
    frame = frame.astype({
        **dict.fromkeys(_TEXT_COLUMNS, "str"),
        "ts": pd.DatetimeTZDtype(unit="us", tz=BEIJING),
        **dict.fromkeys([*ITEMS, "do_saturation_pct"], "float64"),
        "source_line": "int64",
    })
    frame["do_saturation_pct"] = saturation_pct(frame["water_temp"].to_numpy(dtype="float64"),
                                                frame["do"].to_numpy(dtype="float64"))
    return frame


def saturation_pct(temp: np.ndarray, do: np.ndarray) -> np.ndarray:
    """DO as % of saturation at the water temperature (NaN without either)."""
    # Per distinct temperature: a page holds a few hundred, not one per section.
    distinct, where = np.unique(temp, return_inverse=True)
    saturation = np.array([do_saturation(t) if math.isfinite(t) else math.nan
                           for t in distinct])[where.reshape(-1)]
    return 100.0 * do / saturation


# ---------------------------------------------------------------- cell ranges


@dataclass(frozen=True)
class CellRange:
    """A plausible range: `column` outside [low, high] refuses the item `cell`."""

    column: str
    cell: str
    low: float
    high: float


@cache
def cell_ranges() -> tuple[CellRange, ...]:
    """The `cells` list of checks/water_readings.yaml: items first, then derived values.

    Derived values (DO saturation) come last so that they are computed from
    the cells the item ranges kept: an impossible temperature must not also
    cost the reading its DO.
    """
    spec = load_yaml(CHECKS_FILE, what="check suite")
    out: list[CellRange] = []
    for number, entry in enumerate(spec.get("cells") or [], start=1):
        column = entry.get("column") if isinstance(entry, dict) else None
        cell = entry.get("cell", column) if isinstance(entry, dict) else None
        low, high = (entry.get(k) if isinstance(entry, dict) else None
                     for k in ("min_value", "max_value"))
        if (column not in (*ITEMS, *_DERIVED) or cell not in ITEMS
                or (column in ITEMS and cell != column)
                or not all(isinstance(b, int | float) for b in (low, high)) or low > high):
            raise ConfigError(f"{CHECKS_FILE}: cells entry {number} ({entry!r}) needs an item "
                              "or do_saturation_pct as column, an item as cell and "
                              "min_value <= max_value")
        out.append(CellRange(column, cell, float(low), float(high)))
    return tuple(sorted(out, key=lambda r: r.column in _DERIVED))


# Where a refused cell came from: (reject reason prefix, field, cell as delivered, raw record).
CellOrigin = Callable[[int, str], tuple[str, str, str | None, str]]


def refuse_out_of_range(frame: pd.DataFrame, rejects: list[Reject], origin: CellOrigin
                        ) -> pd.DataFrame:
    """Refuse each item cell outside its range (one Reject each), as a malformed cell is.

    The refused items are added to the row's `items_refused`; their values
    stay in the frame until the water shape step removes them, so that the
    delivery-wide checks (a TP median that says µg/L) judge the delivery as
    delivered. A row with no value left but refused ones is dropped: its
    cells' rejects account for it. `origin(position, item)` says where the
    cell at that row position came from.
    """
    if frame.empty:
        return frame
    values = {item: frame[item].to_numpy(dtype="float64") for item in ITEMS}
    refused = {item: np.zeros(len(frame), dtype=bool) for item in ITEMS}

    def kept(item: str) -> np.ndarray:
        return np.where(refused[item], np.nan, values[item])

    found: list[tuple[int, str, str]] = []  # (row position, item, reason)
    for rng in cell_ranges():
        judged = kept(rng.column) if rng.column in ITEMS else \
            saturation_pct(kept("water_temp"), kept("do"))
        outside = ~np.isnan(judged) & ((judged < rng.low) | (judged > rng.high))
        outside &= ~refused[rng.cell]
        found += [(position, rng.cell, _outside(rng, values, judged[position], position))
                  for position in np.flatnonzero(outside).tolist()]
        refused[rng.cell] |= outside
    if not found:
        return frame
    lines = frame["source_line"].to_numpy()
    for position, item, reason in sorted(found):
        where, fld, text, raw = origin(position, item)
        rejects.append(Reject(f"{where}{reason}", line=int(lines[position]), field=fld,
                              value=text, raw=raw))
    out = frame.assign(items_refused=_merged_lists(frame["items_refused"], refused))
    left = np.zeros(len(frame), dtype=bool)
    for item in ITEMS:
        left |= ~np.isnan(values[item]) & ~refused[item]
    return out[left].reset_index(drop=True)


def _outside(rng: CellRange, values: dict[str, np.ndarray], judged: float, position: int
             ) -> str:
    if rng.column == "do_saturation_pct":
        return (f"do {values['do'][position]:g} mg/L is {judged:.0f}% of saturation at "
                f"{values['water_temp'][position]:g} ℃, outside the plausible range "
                f"{rng.low:g}-{rng.high:g}%")
    unit = item_units().get(rng.column, "")
    unit = "" if unit == "dimensionless" else f" {unit}"
    return (f"{rng.column} {judged:g}{unit} outside the plausible range "
            f"{rng.low:g}-{rng.high:g}{unit}")


def _merged_lists(existing: pd.Series, refused: dict[str, np.ndarray]) -> pd.Series:
    """Comma-separated refused items per row, in ITEMS order, merged with those listed."""
    listed = existing.fillna("").astype(str).str.split(",")
    merged = [
        ",".join(item for item in ITEMS
                 if refused[item][position] or item in before) or None
        for position, before in enumerate(listed)]
    return pd.Series(merged, index=existing.index, dtype="str")


def refused_list(items: list[str]) -> str | None:
    """The `items_refused` value for a row's refused items (ITEMS order, None when none)."""
    return ",".join(item for item in ITEMS if item in items) or None


@lru_cache(maxsize=256)
def item_column(text: str, *, file: str, unknown: str) -> tuple[str, float]:
    """A header naming an item and its unit -> (envmon item, factor to envmon's unit).

    `unknown` is the error message when the label names no item envmon knows.
    """
    label, unit = split_header(text)
    item = item_names().get(normalise_name(label))
    if item is None:
        raise InputError(unknown, file=file, field=text)
    try:
        return item, factor_to(unit, item_units()[item])
    except ValueError as exc:
        raise InputError(str(exc), file=file, field=text) from None


def normalise_province(text: str) -> str:
    """'江苏省', '江苏' -> '江苏'; '上海市' -> '上海' (the feed's spelling varies)."""
    text = text.strip()
    for suffix in ("省", "市", "自治区"):
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def registry_by_feed_name() -> dict[tuple[str, str], str]:
    """(normalised province, feed name) -> section_code; shared, do not modify."""
    return _feed_names(sections_version())


@lru_cache(maxsize=4)
def _feed_names(version: tuple) -> dict[tuple[str, str], str]:
    sections = load_sections()
    provinces = province_names_zh()
    return {(normalise_province(provinces[p]), name): code
            for code, p, name in zip(sections["section_code"], sections["province_code"],
                                     sections["feed_name"], strict=True)}


def unregistered_code(province: str, name: str) -> str:
    """A stable code for a section the registry does not know (loaded, flagged)."""
    return f"unregistered:{normalise_province(province)}:{name}"


@lru_cache(maxsize=256)
def feed_class(text: str | None) -> str | None:
    """The publisher's class ('Ⅲ', '劣Ⅴ', '3') as I..V / 劣V, or None."""
    if text is None:
        return None
    stripped = text.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= 6:
        return class_name(int(stripped))
    rank = class_rank(stripped)
    return class_name(rank) if rank else None
