"""Water reference tables (reference/water/): items, GB 3838 limits, classes, TLI, sections.

Loaded through pipelines.core.reference.reference_path, so a bureau's
ENVMON_REFERENCE_DIR copy of `water/<file>` overrides the bundled one. Every
file is validated on load and cached per file version (path, mtime, size).
A bad file is a ConfigError naming the file and line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from pipelines.core.errors import ConfigError
from pipelines.core.reference import load_cities, load_provinces, reference_path
from pipelines.water.schema import ITEMS

ITEMS_FILE = "water/items.csv"
LIMITS_FILE = "water/gb3838_limits.csv"
CLASSES_FILE = "water/water_classes.csv"
TLI_PARAMS_FILE = "water/tli_parameters.csv"
TLI_BANDS_FILE = "water/tli_bands.csv"
SECTIONS_FILE = "water/sections.csv"

CLASS_NAMES = ("I", "II", "III", "IV", "V")
WORSE_THAN_V = "劣V"
WATER_BODIES = ("river", "lake")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


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


def _key(name: str) -> tuple[str, int, int]:
    path = reference_path(name)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: reference file not found") from None
    return (str(path), stat.st_mtime_ns, stat.st_size)


def _read(name: str, columns: tuple[str, ...]) -> tuple[str, pd.DataFrame]:
    path = str(reference_path(name))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable UTF-8 CSV file "
                          f"({' '.join(str(exc).split())})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    frame = frame.loc[:, list(columns)].copy()
    for column in columns:
        frame[column] = frame[column].astype(str).str.strip()
    return path, frame.reset_index(drop=True)


def _fail(path: str, index: int, message: str) -> ConfigError:
    return ConfigError(f"{path}: line {index + 2}: {message}")


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
    if lowered not in _TRUE | _FALSE:
        raise _fail(path, index, f"{column} {text!r} is not true/false")
    return lowered in _TRUE


# ---------------------------------------------------------------- items


def load_items() -> pd.DataFrame:
    """item, name_zh, name_en, aliases, unit, unit_zh: one row per envmon item column."""
    return _items(_key(ITEMS_FILE)).copy()


@lru_cache(maxsize=4)
def _items(key: tuple[str, int, int]) -> pd.DataFrame:
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
    return _limits(_key(LIMITS_FILE), _key(ITEMS_FILE))


@lru_cache(maxsize=4)
def _limits(key: tuple[str, int, int], items_key: tuple[str, int, int]) -> tuple[Limit, ...]:
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
    return _classes(_key(CLASSES_FILE)).copy()


@lru_cache(maxsize=4)
def _classes(key: tuple[str, int, int]) -> pd.DataFrame:
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
    return _tli(_key(TLI_PARAMS_FILE), _key(TLI_BANDS_FILE))


@lru_cache(maxsize=4)
def _tli(params_key: tuple[str, int, int], bands_key: tuple[str, int, int]
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


def load_sections() -> pd.DataFrame:
    """The section registry, validated (codes as text, flags as bool, numbers as float)."""
    return _sections(*sections_version()).copy()


def sections_version() -> tuple[tuple[str, int, int], ...]:
    """The file versions the registry is built from: a cache key for what derives from it."""
    return (_key(SECTIONS_FILE), _key("cities.csv"), _key("provinces.csv"))


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
def _sections(key, cities_key, provinces_key) -> pd.DataFrame:
    path, frame = _read(SECTIONS_FILE, SECTION_FILE_COLUMNS)
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
        if row["water_body"] not in WATER_BODIES:
            raise _fail(path, index, f"section {code}: water_body {row['water_body']!r} "
                                     "is not river/lake")
        if row["city_code"] not in cities:
            raise _fail(path, index, f"section {code}: city_code {row['city_code']!r} "
                                     "is not in cities.csv")
        if row["province_code"] not in provinces:
            raise _fail(path, index, f"section {code}: province_code "
                                     f"{row['province_code']!r} is not in provinces.csv")
        if row["target_class"] and class_rank(row["target_class"]) in (None, 6):
            raise _fail(path, index, f"section {code}: target_class {row['target_class']!r} "
                                     "is not I-V")
        cross = _flag(path, index, "cross_boundary", row["cross_boundary"])
        for column in ("upstream_code", "downstream_code"):
            if row[column] and row[column] not in areas:
                raise _fail(path, index, f"section {code}: {column} {row[column]!r} is not a "
                                         "province or city code of provinces.csv/cities.csv")
            if cross and not row[column]:
                raise _fail(path, index, f"section {code}: a cross-boundary section needs "
                                         f"{column}")
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
    out["target_class"] = [None if not t else [*CLASS_NAMES][class_rank(t) - 1]
                           for t in out["target_class"]]
    for column in ("cross_boundary", "coords_approximate", "demo"):
        out[column] = out[column].str.lower().isin(_TRUE)
    for column in ("mean_flow_m3s", "longitude", "latitude"):
        out[column] = pd.to_numeric(out[column].mask(out[column] == ""), errors="coerce"
                                    ).astype("float64")
    for column in ("upstream_code", "downstream_code"):
        out[column] = out[column].mask(out[column] == "", None)
    return out


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
