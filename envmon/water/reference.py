"""Water reference tables (reference/water/): items, GB 3838 limits, classes, TLI, sections.

Found and read by envmon.core.reference_files, so a bureau's
ENVMON_REFERENCE_DIR copy of `water/<file>` overrides the bundled one. Every
file is validated on load and cached per file version (path, mtime, size).
A bad file is a ConfigError naming the file and line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from envmon.core.errors import ConfigError
from envmon.core.reference import CITIES_FILE, PROVINCES_FILE, load_cities, load_provinces
from envmon.core.reference_files import (
    FALSE_WORDS,
    TRUE_WORDS,
    FileKey,
    file_key,
    read_table,
    reference_path,
    row_error,
    with_demo_rows,
)
from envmon.water.schema import ITEMS

ITEMS_FILE = "water/items.csv"
LIMITS_FILE = "water/gb3838_limits.csv"
CLASSES_FILE = "water/water_classes.csv"
TLI_PARAMS_FILE = "water/tli_parameters.csv"
TLI_BANDS_FILE = "water/tli_bands.csv"
SECTIONS_FILE = "water/sections.csv"

CLASS_NAMES = ("I", "II", "III", "IV", "V")
WORSE_THAN_V = "劣V"
WATER_BODIES = ("river", "lake")


@dataclass(frozen=True)
class Limit:
    """One row of GB 3838-2002 Table 1: an item's bound for classes I-V."""

    item: str
    applies_to: str  # all | river | lake
    bound: str  # max (at most) | min (at least) | none
    limits: tuple[float, float, float, float, float]
    evaluated: bool  # used for the class (2011 evaluation method)


@dataclass(frozen=True)
class TliParam:
    param: str
    item: str
    r: float
    intercept: float
    slope: float
    factor: float  # from the item's stored unit to the formula's unit


@dataclass(frozen=True)
class TliBand:
    band: str
    name_zh: str
    lower: float | None
    lower_inclusive: bool
    upper: float | None
    upper_inclusive: bool

    def contains(self, value: float) -> bool:
        if self.lower is not None and (value < self.lower or
                                       (value == self.lower and not self.lower_inclusive)):
            return False
        return not (self.upper is not None and (value > self.upper or
                                                (value == self.upper and
                                                 not self.upper_inclusive)))


def _read(name: str, columns: tuple[str, ...]) -> tuple[str, pd.DataFrame]:
    path = str(reference_path(name))
    return path, read_table(path, columns)


_fail = row_error


def _number(path: str, index: int, column: str, text: str, *, allow_empty: bool = False
            ) -> float | None:
    if text == "" and allow_empty:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _fail(path, index, f"{column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _fail(path, index, f"{column} {text!r} is not a finite number")
    return value


def _flag(path: str, index: int, column: str, text: str) -> bool:
    lowered = text.lower()
    if lowered not in TRUE_WORDS | FALSE_WORDS:
        raise _fail(path, index, f"{column} {text!r} is not true/false")
    return lowered in TRUE_WORDS


# ---------------------------------------------------------------- items


def load_items() -> pd.DataFrame:
    """item, name_zh, name_en, aliases, unit, unit_zh: one row per envmon item column."""
    return _items(file_key(ITEMS_FILE)).copy()


@lru_cache(maxsize=4)
def _items(key: FileKey) -> pd.DataFrame:
    path, frame = _read(ITEMS_FILE, ("item", "name_zh", "name_en", "aliases", "unit", "unit_zh"))
    listed = list(frame["item"])
    if sorted(listed) != sorted(ITEMS):
        missing = sorted(set(ITEMS) - set(listed))
        extra = sorted(set(listed) - set(ITEMS))
        raise ConfigError(f"{path}: items must be exactly envmon's item columns "
                          f"(missing: {missing or 'none'}, unknown: {extra or 'none'})")
    return frame


def item_names() -> dict[str, str]:
    """Normalised name or alias -> item code (for lab headers)."""
    out: dict[str, str] = {}
    for row in load_items().itertuples(index=False):
        for name in (row.item, row.name_zh, row.name_en, *row.aliases.split("|")):
            if name.strip():
                out[normalise_name(name)] = row.item
    return out


def item_units() -> dict[str, str]:
    return dict(zip(load_items()["item"], load_items()["unit"], strict=True))


def normalise_name(name: str) -> str:
    """Case, spaces and full-width brackets do not distinguish item names."""
    text = name.strip().replace("（", "(").replace("）", ")").replace("₃", "3").replace("₅", "5")
    return "".join(text.split()).lower()


# ---------------------------------------------------------------- GB 3838 limits


def load_limits() -> tuple[Limit, ...]:
    """GB 3838-2002 Table 1 rows (item, applies_to, bound, I..V, evaluated)."""
    return _limits(file_key(LIMITS_FILE), file_key(ITEMS_FILE))


@lru_cache(maxsize=4)
def _limits(key: FileKey, items_key: FileKey) -> tuple[Limit, ...]:
    path, frame = _read(LIMITS_FILE, ("item", "applies_to", "bound", *CLASS_NAMES, "evaluated"))
    known = set(_items(items_key)["item"])
    out: list[Limit] = []
    for index, row in frame.iterrows():
        if row["item"] not in known:
            raise _fail(path, index, f"unknown item {row['item']!r} (not in {ITEMS_FILE})")
        if row["applies_to"] not in ("all", *WATER_BODIES):
            raise _fail(path, index, f"applies_to {row['applies_to']!r} is not all/river/lake")
        if row["bound"] not in ("max", "min", "none"):
            raise _fail(path, index, f"bound {row['bound']!r} is not max/min/none")
        evaluated = _flag(path, index, "evaluated", row["evaluated"])
        if row["bound"] == "none":
            limits = (math.nan,) * 5
        else:
            limits = tuple(_number(path, index, c, row[c]) for c in CLASS_NAMES)
            # Classes must not get stricter from I to V, or "first class the
            # value meets" would not be the single-factor class.
            pairs = list(zip(limits, limits[1:], strict=False))
            worse = (all(a <= b for a, b in pairs) if row["bound"] == "max"
                     else all(a >= b for a, b in pairs))
            if not worse:
                raise _fail(path, index, f"{row['item']} limits are not monotone from I to V")
        out.append(Limit(row["item"], row["applies_to"], row["bound"], limits, evaluated))
    return tuple(out)


def load_classes() -> pd.DataFrame:
    """water_class, class_rank (1-6), roman, label_zh, label_en."""
    return _classes(file_key(CLASSES_FILE)).copy()


@lru_cache(maxsize=4)
def _classes(key: FileKey) -> pd.DataFrame:
    path, frame = _read(CLASSES_FILE, ("water_class", "class_rank", "roman", "label_zh",
                                       "label_en"))
    expected = [*CLASS_NAMES, WORSE_THAN_V]
    if list(frame["water_class"]) != expected:
        raise ConfigError(f"{path}: water_class must list {', '.join(expected)} in order")
    frame["class_rank"] = range(1, 7)
    return frame


def class_rank(name: object) -> int | None:
    """'III' or 'Ⅲ' -> 3, '劣V'/'劣Ⅴ' -> 6; None for anything else."""
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return None
    text = str(name).strip().upper().replace("类", "")
    roman = {"Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV", "Ⅴ": "V"}
    for glyph, ascii_ in roman.items():
        text = text.replace(glyph, ascii_)
    if text in ("劣V", "劣 V"):
        return 6
    return CLASS_NAMES.index(text) + 1 if text in CLASS_NAMES else None


def class_name(rank: int | None) -> str | None:
    if rank is None:
        return None
    return ([*CLASS_NAMES, WORSE_THAN_V])[int(rank) - 1]


# ---------------------------------------------------------------- TLI


def load_tli() -> tuple[tuple[TliParam, ...], tuple[TliBand, ...]]:
    return _tli(file_key(TLI_PARAMS_FILE), file_key(TLI_BANDS_FILE))


@lru_cache(maxsize=4)
def _tli(params_key: FileKey, bands_key: FileKey
         ) -> tuple[tuple[TliParam, ...], tuple[TliBand, ...]]:
    path, frame = _read(TLI_PARAMS_FILE, ("param", "item", "r_with_chla", "intercept", "slope",
                                          "to_unit_factor"))
    params = []
    for index, row in frame.iterrows():
        if row["item"] not in ITEMS:
            raise _fail(path, index, f"unknown item {row['item']!r}")
        params.append(TliParam(row["param"], row["item"],
                               _number(path, index, "r_with_chla", row["r_with_chla"]),
                               _number(path, index, "intercept", row["intercept"]),
                               _number(path, index, "slope", row["slope"]),
                               _number(path, index, "to_unit_factor", row["to_unit_factor"])))
    if "chla" not in {p.param for p in params}:
        raise ConfigError(f"{path}: the TLI needs the chla parameter (its reference)")
    bpath, bands = _read(TLI_BANDS_FILE, ("band", "name_zh", "lower", "lower_inclusive", "upper",
                                          "upper_inclusive"))
    out = tuple(TliBand(row["band"], row["name_zh"],
                        _number(bpath, i, "lower", row["lower"], allow_empty=True),
                        _flag(bpath, i, "lower_inclusive", row["lower_inclusive"]),
                        _number(bpath, i, "upper", row["upper"], allow_empty=True),
                        _flag(bpath, i, "upper_inclusive", row["upper_inclusive"]))
                for i, row in bands.iterrows())
    return tuple(params), out


# ---------------------------------------------------------------- sections


SECTION_FILE_COLUMNS: tuple[str, ...] = (
    "section_code", "section_name", "feed_name", "name_en", "water_body", "water_name", "basin",
    "city_code", "province_code", "cross_boundary", "upstream_code", "downstream_code",
    "target_class", "mean_flow_m3s", "longitude", "latitude", "coords_approximate", "demo",
)
# Optional: empty when a file does not have them. confirmed_facts names the
# columns a public source gives (cited in `sources`), to_fill the ones a
# bureau has to set (its own settings, or facts no source gave).
SECTION_OPTIONAL_COLUMNS: tuple[str, ...] = ("confirmed_facts", "sources", "to_fill", "note")
DEMO_SECTIONS_FILE = "water/demo_sections.csv"

# Lake or river is a registry fact (`water_body`). Only when the registry
# leaves it empty, or does not know the section, is it guessed from the
# name of the water (else the section's): names of lakes and reservoirs end
# like this. The guess says so (water_type_source). Lake points are named
# after a place (沙渚, 兰山嘴, 西山, 湖滨, 西半湖湖心), so a guess calls them
# rivers: they must be in the registry.
LAKE_SUFFIXES = ("湖", "水库", "荡", "淀", "漾")
WATER_TYPE_FROM_REGISTRY = "registry"
WATER_TYPE_GUESSED = "guessed-from-name"
# The demo row that gives a real section its feed name back (see _sections).
DEMO_FEED_SUFFIX = "（演示）"


def guess_water_body(name: object) -> str:
    """'lake' when a water's name ends like a lake's or reservoir's, else 'river'. A guess."""
    return "lake" if str(name or "").strip().endswith(LAKE_SUFFIXES) else "river"


def load_sections() -> pd.DataFrame:
    """The section registry, validated (codes as text, flags as bool, numbers as float).

    The real sections (water/sections.csv), then the demo ones
    (water/demo_sections.csv) unless the main file has demo rows itself.
    `water_body` is always river or lake; `water_type_source` says whether
    the registry gave it or it was guessed from the name.
    """
    return _sections(*sections_version()).copy()


def sections_version() -> tuple[FileKey, ...]:
    """The file versions the registry is built from: a cache key for what derives from it."""
    return (file_key(SECTIONS_FILE), file_key(DEMO_SECTIONS_FILE), file_key(CITIES_FILE),
            file_key(PROVINCES_FILE))


def check_sections(path: Path) -> pd.DataFrame:
    """Validate one section file (as load_sections would) without installing it."""
    return _finish(_section_file(str(path)))


def registry_values(codes: pd.Series, columns: Iterable[str]
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(whether each code is registered, each column's registry value per code: None if not)."""
    registry = load_sections()
    at = pd.Index(registry["section_code"]).get_indexer(codes)
    known = at >= 0
    values = {}
    for column in columns:
        found = registry[column].to_numpy(dtype=object)
        found = found.take(at, mode="clip") if len(found) else np.full(len(at), None)
        values[column] = np.where(known, found, None)
    return known, values


@lru_cache(maxsize=4)
def _sections(key, demo_key, cities_key, provinces_key) -> pd.DataFrame:
    main = _section_file(key[0])
    return _finish(with_demo_rows(main, key[0], lambda: _section_file(demo_key[0]), demo_key[0],
                                  code="section_code", kind="section", adjust=_demo_feed_names))


def _demo_feed_names(main: pd.DataFrame, demo: pd.DataFrame) -> pd.DataFrame:
    """A real section owns its release name: a demo row using it gets one no release uses,
    so real readings never land on a demo section."""
    taken = set(zip(main["province_code"], main["feed_name"], strict=True))
    clash = pd.Series([k in taken for k in zip(demo["province_code"], demo["feed_name"],
                                               strict=True)], index=demo.index, dtype=bool)
    out = demo.copy()
    out.loc[clash, "feed_name"] = out.loc[clash, "feed_name"] + DEMO_FEED_SUFFIX
    return out


def _section_file(path: str) -> pd.DataFrame:
    """One section file, checked row by row; cells still text, feed_name filled in."""
    frame = read_table(path, SECTION_FILE_COLUMNS, SECTION_OPTIONAL_COLUMNS)
    cities = set(load_cities()["city_code"])
    provinces = set(load_provinces()["province_code"])
    areas = cities | provinces
    seen: dict[str, int] = {}
    feed_keys: dict[tuple[str, str], int] = {}
    for index, row in frame.iterrows():
        code = row["section_code"]
        if not code:
            raise _fail(path, index, "empty section_code")
        if code in seen:
            raise _fail(path, index, f"duplicate section_code {code!r} "
                                     f"(first on line {seen[code] + 2})")
        seen[code] = index
        if row["water_body"] not in ("", *WATER_BODIES):
            raise _fail(path, index, f"section {code}: water_body {row['water_body']!r} "
                                     "is not river/lake (or empty: guessed from the name)")
        if row["city_code"] not in cities:
            raise _fail(path, index, f"section {code}: city_code {row['city_code']!r} "
                                     f"is not in {CITIES_FILE}")
        if row["province_code"] not in provinces:
            raise _fail(path, index, f"section {code}: province_code "
                                     f"{row['province_code']!r} is not in {PROVINCES_FILE}")
        if row["city_code"][:2] != row["province_code"][:2]:
            raise _fail(path, index, f"section {code}: city_code {row['city_code']} is not in "
                                     f"province {row['province_code']}")
        if row["target_class"] and class_rank(row["target_class"]) in (None, 6):
            raise _fail(path, index, f"section {code}: target_class {row['target_class']!r} "
                                     "is not I-V")
        # Empty: not set (a bureau setting to fill), read as false.
        cross = row["cross_boundary"] != "" and _flag(path, index, "cross_boundary",
                                                      row["cross_boundary"])
        for column in ("upstream_code", "downstream_code"):
            if row[column] and row[column] not in areas:
                raise _fail(path, index, f"section {code}: {column} {row[column]!r} is not a "
                                         f"province or city code of {PROVINCES_FILE}/{CITIES_FILE}")
            if cross and not row[column]:
                raise _fail(path, index, f"section {code}: a cross-boundary section needs "
                                         f"{column}")
        for column in ("coords_approximate", "demo"):
            if row[column]:
                _flag(path, index, column, row[column])
        feed_key = (row["province_code"], row["feed_name"] or row["section_name"])
        if feed_key in feed_keys:
            raise _fail(path, index, f"section {code}: feed name {feed_key[1]!r} appears twice "
                                     f"in province {feed_key[0]} (first on line "
                                     f"{feed_keys[feed_key] + 2})")
        feed_keys[feed_key] = index
        for column, limit in (("longitude", 180.0), ("latitude", 90.0)):
            value = _number(path, index, column, row[column], allow_empty=True)
            if value is not None and abs(value) > limit:
                raise _fail(path, index, f"section {code}: bad {column} {row[column]!r}")
        flow = _number(path, index, "mean_flow_m3s", row["mean_flow_m3s"], allow_empty=True)
        if flow is not None and flow < 0:
            raise _fail(path, index, f"section {code}: negative mean_flow_m3s")
    out = frame.copy()
    out["feed_name"] = out["feed_name"].mask(out["feed_name"] == "", out["section_name"])
    return out


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Checked text cells -> typed registry, with the water type filled in and its source."""
    out = frame.copy()
    given = out["water_body"] != ""
    named = out["water_name"].mask(out["water_name"] == "", out["section_name"])
    out["water_body"] = out["water_body"].mask(~given, named.map(guess_water_body))
    out["water_type_source"] = np.where(given, WATER_TYPE_FROM_REGISTRY, WATER_TYPE_GUESSED)
    # object dtype: an empty target is None (a text column would make it NaN, which is truthy)
    out["target_class"] = pd.Series([None if not t else [*CLASS_NAMES][class_rank(t) - 1]
                                     for t in out["target_class"]], index=out.index,
                                    dtype=object)
    for column in ("cross_boundary", "coords_approximate", "demo"):
        out[column] = out[column].str.lower().isin(TRUE_WORDS)
    for column in ("mean_flow_m3s", "longitude", "latitude"):
        out[column] = pd.to_numeric(out[column].mask(out[column] == ""), errors="coerce"
                                    ).astype("float64")
    for column in ("upstream_code", "downstream_code"):
        out[column] = out[column].mask(out[column] == "", None)
    return out.reset_index(drop=True)


def area_names() -> dict[str, str]:
    """Province and city adcode -> English name (for payer / payee)."""
    names = dict(zip(load_provinces()["province_code"], load_provinces()["name_en"],
                     strict=True))
    cities = load_cities()
    # Shanghai is both a province-level and a city code: the province name wins.
    for code, name in zip(cities["city_code"], cities["name_en"], strict=True):
        names.setdefault(code, name)
    return names


def province_names_zh() -> dict[str, str]:
    """Province adcode -> Chinese name as the feed writes it (上海市, 江苏省, ...)."""
    provinces = load_provinces()
    return dict(zip(provinces["province_code"], provinces["name_zh"], strict=True))


def clear_cache() -> None:
    for cached in (_items, _limits, _classes, _tli, _sections):
        cached.cache_clear()
