"""Reference tables: provinces, cities and the air station registry.

Codes are keys and stay strings (GB/T 2260 adcodes, CNEMC-style station
codes such as ``1141A``): never cast them to int, leading zeros matter.
Names are not keys (there are two Suzhous and two Taizhous in the region);
`city_codes_by_name()` is only for reading lists published with names.

The air registry is two files: `air/stations.csv`, the real stations, and
`air/demo_stations.csv`, the synthetic stations the demo feed writes. The
demo file is added to the registry unless the main file already has rows
flagged demo (a registry written before the two were split carries its
own). A code in both files is an error.

A bureau points ``ENVMON_REFERENCE_DIR`` at a directory holding its own copies
of any of these files (same columns); files it does not provide fall back to
the bundled ones in ``reference/``. Files are found and read by
`envmon.core.reference_files` (which also reads a copy kept under a file's
former name, e.g. ``air_stations.csv``); every load is validated and cached
per file version (path, mtime, size), so an edited registry is picked up.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from envmon.core.reference_files import (
    FALSE_WORDS,
    TRUE_WORDS,
    FileKey,
    fail_first,
    file_key,
    path_key,
    read_table,
    require_unique,
    require_values,
    with_demo_rows,
)
from envmon.core.reference_files import REFERENCE_DIR_ENV as REFERENCE_DIR_ENV
from envmon.core.reference_files import reference_dir as reference_dir
from envmon.core.reference_files import reference_path as reference_path

PROVINCES_FILE = "common/provinces.csv"
CITIES_FILE = "common/cities.csv"
COUNTY_CITIES_FILE = "common/county_cities.csv"
AIR_STATIONS_FILE = "air/stations.csv"
AIR_DEMO_STATIONS_FILE = "air/demo_stations.csv"

PROVINCE_COLUMNS: tuple[str, ...] = ("province_code", "name_zh", "name_en")
CITY_COLUMNS: tuple[str, ...] = ("city_code", "name_zh", "name_en", "province_code")
AIR_STATION_COLUMNS: tuple[str, ...] = (
    "station_code",
    "station_name",
    "city_code",
    "longitude",
    "latitude",
    "demo",
)
# Optional columns of the air registry (empty when a file does not have them).
AIR_STATION_OPTIONAL: tuple[str, ...] = ("reference_point", "source_city", "note")
COUNTY_CITY_COLUMNS: tuple[str, ...] = ("name_zh", "county_code", "city_code", "kind", "note")


def load_provinces() -> pd.DataFrame:
    """Provinces (province_code, name_zh, name_en); codes as strings."""
    return _provinces(file_key(PROVINCES_FILE)).copy()


def load_cities() -> pd.DataFrame:
    """Prefecture-level cities (city_code, name_zh, name_en, province_code)."""
    return _cities(file_key(CITIES_FILE), file_key(PROVINCES_FILE)).copy()


def load_air_stations() -> pd.DataFrame:
    """Air station registry: the real stations, then the demo ones.

    Columns: station_code, station_name, city_code, longitude, latitude, demo
    (bool), reference_point (nullable bool: the published 对照点 flag),
    source_city (the published 城市 value), note.
    """
    keys = (file_key(AIR_STATIONS_FILE), file_key(AIR_DEMO_STATIONS_FILE),
            file_key(CITIES_FILE), file_key(PROVINCES_FILE))
    return _air_stations(*keys).copy()


def check_air_stations(path: Path) -> pd.DataFrame:
    """Validate one air registry file (as `load_air_stations` would) without installing it."""
    return _station_file(path_key(path),
                         file_key(CITIES_FILE), file_key(PROVINCES_FILE)).copy()


def load_county_cities() -> pd.DataFrame:
    """County-level cities (and former ones, now districts) -> their prefecture's city_code."""
    keys = (file_key(COUNTY_CITIES_FILE), file_key(CITIES_FILE), file_key(PROVINCES_FILE))
    return _county_cities(*keys).copy()


def short_place_name(name: str) -> str:
    """'苏州市' and '苏州' alike -> '苏州' (published lists drop the 市 suffix or keep it)."""
    text = str(name).strip()
    return text[:-1] if text.endswith("市") and len(text) > 2 else text


def city_codes_by_name() -> dict[str, str]:
    """Place name (without 市) -> city_code: the 41 cities and their county-level cities.

    For reading published lists that name places, never for joining: names
    are not keys. Both Suzhous and both Taizhous are told apart by their
    characters (苏州/宿州, 泰州/台州).
    """
    keys = (file_key(COUNTY_CITIES_FILE), file_key(CITIES_FILE), file_key(PROVINCES_FILE))
    return dict(_city_names(*keys))


def clear_cache() -> None:
    """Forget cached tables (tests; long-lived processes after a registry swap)."""
    _provinces.cache_clear()
    _cities.cache_clear()
    _station_file.cache_clear()
    _air_stations.cache_clear()
    _county_cities.cache_clear()
    _city_names.cache_clear()


# --- loading ---------------------------------------------------------------


@lru_cache(maxsize=8)
def _provinces(key: FileKey) -> pd.DataFrame:
    path = key[0]
    frame = read_table(path, PROVINCE_COLUMNS)
    require_values(frame, path, PROVINCE_COLUMNS)
    _require_adcodes(frame, path, "province_code")
    bad = ~frame["province_code"].str.endswith("0000")
    fail_first(
        frame, bad, path, lambda r: f"{r['province_code']!r} is not a province-level adcode"
    )
    require_unique(frame, path, "province_code")
    return frame


@lru_cache(maxsize=8)
def _cities(key: FileKey, provinces_key: FileKey) -> pd.DataFrame:
    path = key[0]
    frame = read_table(path, CITY_COLUMNS)
    require_values(frame, path, CITY_COLUMNS)
    _require_adcodes(frame, path, "city_code")
    require_unique(frame, path, "city_code")
    known = set(_provinces(provinces_key)["province_code"])
    unknown = ~frame["province_code"].isin(known)
    fail_first(
        frame,
        unknown,
        path,
        lambda r: (
            f"city {r['city_code']}: province_code {r['province_code']!r} "
            f"is not in {provinces_key[0]}"
        ),
    )
    # GB/T 2260: the first two digits of a city's adcode are its province's.
    mismatch = frame["city_code"].str[:2] != frame["province_code"].str[:2]
    fail_first(
        frame,
        mismatch,
        path,
        lambda r: f"city_code {r['city_code']} does not belong to province {r['province_code']}",
    )
    return frame


@lru_cache(maxsize=8)
def _air_stations(key: FileKey, demo_key: FileKey, cities_key: FileKey,
                  provinces_key: FileKey) -> pd.DataFrame:
    main = _station_file(key, cities_key, provinces_key)
    return with_demo_rows(main, key[0], lambda: _station_file(demo_key, cities_key,
                                                              provinces_key),
                          demo_key[0], code="station_code", kind="station")


@lru_cache(maxsize=16)
def _station_file(key: FileKey, cities_key: FileKey, provinces_key: FileKey) -> pd.DataFrame:
    path = key[0]
    frame = read_table(path, AIR_STATION_COLUMNS, optional=AIR_STATION_OPTIONAL)
    require_values(frame, path, ("station_code", "city_code", "demo"))
    require_unique(frame, path, "station_code")
    known = set(_cities(cities_key, provinces_key)["city_code"])
    unknown = ~frame["city_code"].isin(known)
    fail_first(
        frame,
        unknown,
        path,
        lambda r: (
            f"station {r['station_code']}: city_code {r['city_code']!r} is not in {cities_key[0]}"
        ),
    )
    frame["longitude"] = _coordinate(frame, path, "longitude", 180.0)
    frame["latitude"] = _coordinate(frame, path, "latitude", 90.0)
    frame["demo"] = _flag(frame, path, "demo")
    frame["reference_point"] = _optional_flag(frame, path, "reference_point")
    return frame


@lru_cache(maxsize=8)
def _county_cities(key: FileKey, cities_key: FileKey, provinces_key: FileKey) -> pd.DataFrame:
    path = key[0]
    frame = read_table(path, COUNTY_CITY_COLUMNS)
    require_values(frame, path, ("name_zh", "county_code", "city_code"))
    _require_adcodes(frame, path, "county_code")
    cities = _cities(cities_key, provinces_key)
    unknown = ~frame["city_code"].isin(set(cities["city_code"]))
    fail_first(frame, unknown, path,
                lambda r: f"{r['name_zh']}: city_code {r['city_code']!r} is not in {cities_key[0]}")
    # GB/T 2260: a county-level unit's code starts with its prefecture's four digits.
    outside = frame["county_code"].str[:4] != frame["city_code"].str[:4]
    fail_first(frame, outside, path,
                lambda r: f"{r['name_zh']}: county_code {r['county_code']} is not inside "
                          f"city {r['city_code']}")
    short = frame["name_zh"].map(short_place_name)
    city_names = set(cities["name_zh"].map(short_place_name))
    clash = short.duplicated() | short.isin(city_names)
    fail_first(frame, clash, path,
                lambda r: f"{r['name_zh']}: the name is listed twice or is a city's name")
    return frame


@lru_cache(maxsize=8)
def _city_names(key: FileKey, cities_key: FileKey, provinces_key: FileKey
                ) -> tuple[tuple[str, str], ...]:
    cities = _cities(cities_key, provinces_key)
    counties = _county_cities(key, cities_key, provinces_key)
    pairs = [(short_place_name(n), c) for n, c in zip(cities["name_zh"], cities["city_code"],
                                                      strict=True)]
    pairs += [(short_place_name(n), c) for n, c in zip(counties["name_zh"],
                                                       counties["city_code"], strict=True)]
    return tuple(pairs)


# --- validation ------------------------------------------------------------


def _require_adcodes(frame: pd.DataFrame, path: str, column: str) -> None:
    bad = ~frame[column].str.fullmatch(r"\d{6}")
    fail_first(
        frame, bad, path, lambda r: f"{column} {r[column]!r} is not a 6-digit GB/T 2260 adcode"
    )


def _coordinate(frame: pd.DataFrame, path: str, column: str, limit: float) -> pd.Series:
    """Decimal degrees; an empty cell is allowed (NaN), text or out-of-range is not."""
    empty = frame[column] == ""
    values = pd.to_numeric(frame[column].mask(empty), errors="coerce").astype("float64")
    bad = ~empty & (values.isna() | (values.abs() > limit))
    fail_first(
        frame, bad, path, lambda r: f"station {r['station_code']}: bad {column} {r[column]!r}"
    )
    return values


def _flag(frame: pd.DataFrame, path: str, column: str) -> pd.Series:
    lowered = frame[column].str.lower()
    bad = ~lowered.isin(TRUE_WORDS | FALSE_WORDS)
    fail_first(
        frame,
        bad,
        path,
        lambda r: f"station {r['station_code']}: {column} {r[column]!r} is not true/false",
    )
    return lowered.isin(TRUE_WORDS).astype(bool)


def _optional_flag(frame: pd.DataFrame, path: str, column: str) -> pd.Series:
    """true/false, or <NA> for an empty cell (not stated)."""
    lowered = frame[column].str.lower()
    empty = lowered == ""
    bad = ~empty & ~lowered.isin(TRUE_WORDS | FALSE_WORDS)
    fail_first(
        frame,
        bad,
        path,
        lambda r: f"station {r['station_code']}: {column} {r[column]!r} is not true/false",
    )
    return pd.Series(pd.array([None if e else v in TRUE_WORDS for e, v in zip(empty, lowered,
                                                                          strict=True)],
                              dtype="boolean"), index=frame.index)
