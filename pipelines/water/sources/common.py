"""What both water parsers share: the frame they return and the registry match."""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
import pandas as pd

from pipelines.core.errors import InputError
from pipelines.core.timeutil import BEIJING
from pipelines.water.reference import (
    class_name,
    class_rank,
    item_names,
    item_units,
    load_sections,
    normalise_name,
    province_names_zh,
    sections_version,
)
from pipelines.water.schema import ITEMS, PARSED_COLUMNS
from pipelines.water.units import do_saturation, factor_to, split_header

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TEXT_COLUMNS = ("section_code", "section_name", "sample_kind", "feed_class", "feed_province",
                 "feed_basin", "feed_city", "feed_river", "below_detection")


def to_frame(rows: list[dict[str, object]] | pd.DataFrame) -> pd.DataFrame:
    """Parsed rows (dicts, or a frame) -> PARSED_COLUMNS with their dtypes and DO saturation."""
    frame = pd.DataFrame(rows, columns=list(PARSED_COLUMNS))
    frame = frame.astype({
        **dict.fromkeys(_TEXT_COLUMNS, "str"),
        "ts": pd.DatetimeTZDtype(unit="us", tz=BEIJING),
        **dict.fromkeys([*ITEMS, "do_saturation_pct"], "float64"),
        "source_line": "int64",
    })
    temp = frame["water_temp"].to_numpy(dtype="float64")
    # Per distinct temperature: a page holds a few hundred, not one per section.
    distinct, where = np.unique(temp, return_inverse=True)
    saturation = np.array([do_saturation(t) if math.isfinite(t) else math.nan
                           for t in distinct])[where.reshape(-1)]
    frame["do_saturation_pct"] = 100.0 * frame["do"].to_numpy(dtype="float64") / saturation
    return frame


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
