"""Reference tables of the hazardous-waste domain (reference/hazwaste/*.csv).

Found and read by the core reference reader (envmon.core.reference_files), so
ENVMON_REFERENCE_DIR can hold a bureau's own copies (`hazwaste/facilities.csv`
etc.); every file is validated on load (one-line ConfigError naming the file
and line) and cached per file version. Codes stay strings.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from envmon.core.reference_files import (
    fail_first,
    file_key,
    read_table,
    require_unique,
    require_values,
)

WASTE_CODE_RE = re.compile(r"^\d{3}-\d{3}-\d{2}$")
CATEGORY_RE = re.compile(r"^HW\d{2}$")
ADCODE_RE = re.compile(r"^[1-9]\d{5}$")
ROLES = ("shipper", "carrier", "receiver")

FILES = {
    "provinces": ("hazwaste/provinces.csv",
                  ("province_code", "name_zh", "name_en", "municipality")),
    "categories": ("hazwaste/waste_categories.csv", ("category", "name_zh", "name_en", "in_use")),
    "waste_codes": ("hazwaste/waste_codes.csv",
                    ("waste_code", "category", "name_zh", "characteristics", "editions",
                     "representative")),
    "facilities": ("hazwaste/facilities.csv",
                   ("facility_id", "role", "name", "adcode", "licence_no",
                    "licence_valid_from", "licence_valid_to", "licensed", "annual_capacity_t",
                    "permit_no", "vehicle_plates", "demo")),
    "approvals": ("hazwaste/approvals.csv",
                  ("approval_no", "origin_province", "dest_province", "shipper_id",
                   "receiver_id", "waste_codes", "approved_tonnes", "valid_from", "valid_to",
                   "whitelist", "demo")),
    "whitelist": ("hazwaste/whitelist.csv",
                  ("receiver_id", "waste_class", "valid_from", "valid_to", "demo")),
    "anomaly_rules": ("hazwaste/anomaly_rules.csv", ("anomaly", "basis", "description")),
}


def load(name: str) -> pd.DataFrame:
    """One validated reference table (a copy: callers may modify it)."""
    path, _ = FILES[name]
    return _LOADERS[name](file_key(path)).copy()


def is_waste_class(value: str) -> bool:
    """A licence or approval entry: a full waste code or a category HWnn."""
    return bool(WASTE_CODE_RE.match(value) or CATEGORY_RE.match(value))


def split_list(text: str) -> list[str]:
    """"a;b;c" -> ["a", "b", "c"] (reference lists are semicolon-separated)."""
    return [part.strip() for part in str(text or "").split(";") if part.strip()]


def clear_cache() -> None:
    for loader in _LOADERS.values():
        loader.cache_clear()


# --- loaders -----------------------------------------------------------------


def _read(name: str, key: tuple) -> tuple[pd.DataFrame, str]:
    path = key[0]
    frame = read_table(path, FILES[name][1])
    return frame, path


@lru_cache(maxsize=4)
def _provinces(key: tuple) -> pd.DataFrame:
    frame, path = _read("provinces", key)
    require_values(frame, path, ("province_code", "name_zh", "municipality"))
    fail_first(frame, ~frame["province_code"].str.fullmatch(r"\d{2}0000"), path,
                lambda r: f"{r['province_code']!r} is not a province-level adcode")
    require_unique(frame, path, "province_code")
    frame["municipality"] = _flag(frame, path, "municipality")
    return frame


@lru_cache(maxsize=4)
def _categories(key: tuple) -> pd.DataFrame:
    frame, path = _read("categories", key)
    fail_first(frame, ~frame["category"].str.fullmatch(CATEGORY_RE.pattern[1:-1]), path,
                lambda r: f"category {r['category']!r} is not HWnn")
    require_unique(frame, path, "category")
    frame["in_use"] = _flag(frame, path, "in_use")
    return frame


@lru_cache(maxsize=4)
def _waste_codes(key: tuple) -> pd.DataFrame:
    frame, path = _read("waste_codes", key)
    require_values(frame, path, ("waste_code", "category", "editions"))
    fail_first(frame, ~frame["waste_code"].str.fullmatch(WASTE_CODE_RE.pattern[1:-1]), path,
                lambda r: f"waste_code {r['waste_code']!r} is not NNN-NNN-NN")
    # 名录: the last two digits of a code are its category.
    fail_first(frame, frame["waste_code"].str[-2:] != frame["category"].str[2:], path,
                lambda r: f"waste_code {r['waste_code']} is not in category {r['category']}")
    require_unique(frame, path, "waste_code")
    frame["representative"] = _flag(frame, path, "representative")
    return frame


@lru_cache(maxsize=4)
def _facilities(key: tuple) -> pd.DataFrame:
    frame, path = _read("facilities", key)
    require_values(frame, path, ("facility_id", "role", "adcode", "demo"))
    fail_first(frame, ~frame["role"].isin(ROLES), path,
                lambda r: f"role {r['role']!r} is not one of {', '.join(ROLES)}")
    fail_first(frame, ~frame["adcode"].str.fullmatch(ADCODE_RE.pattern[1:-1]), path,
                lambda r: f"adcode {r['adcode']!r} is not a 6-digit GB/T 2260 code")
    dup = frame.duplicated(["facility_id", "role"])
    fail_first(frame, dup, path,
                lambda r: f"facility {r['facility_id']} listed twice as {r['role']}")
    receivers = frame["role"] == "receiver"
    require_values(frame[receivers], path, ("licence_no", "licence_valid_from",
                                             "licence_valid_to", "licensed",
                                             "annual_capacity_t"))
    frame["licence_valid_from"] = _dates(frame, path, "licence_valid_from")
    frame["licence_valid_to"] = _dates(frame, path, "licence_valid_to")
    capacity = pd.to_numeric(frame["annual_capacity_t"].mask(frame["annual_capacity_t"] == ""),
                             errors="coerce")
    fail_first(frame, receivers & ~(capacity > 0), path,
                lambda r: f"receiver {r['facility_id']}: annual_capacity_t "
                          f"{r['annual_capacity_t']!r} is not a positive number")
    frame["annual_capacity_t"] = capacity.astype("float64")
    bad = frame["licensed"].map(lambda s: not all(is_waste_class(x) for x in split_list(s)))
    fail_first(frame, bad, path,
                lambda r: f"facility {r['facility_id']}: licensed {r['licensed']!r} must list "
                          "waste codes NNN-NNN-NN or categories HWnn, separated by ';'")
    frame["demo"] = _flag(frame, path, "demo")
    return frame


@lru_cache(maxsize=4)
def _approvals(key: tuple) -> pd.DataFrame:
    frame, path = _read("approvals", key)
    require_values(frame, path, FILES["approvals"][1])
    require_unique(frame, path, "approval_no")
    for column in ("origin_province", "dest_province"):
        fail_first(frame, ~frame[column].str.fullmatch(r"\d{2}0000"), path,
                    lambda r, c=column: f"{c} {r[c]!r} is not a province-level adcode")
    tonnes = pd.to_numeric(frame["approved_tonnes"], errors="coerce")
    fail_first(frame, ~(tonnes > 0), path,
                lambda r: f"approved_tonnes {r['approved_tonnes']!r} is not a positive number")
    frame["approved_tonnes"] = tonnes.astype("float64")
    bad = frame["waste_codes"].map(lambda s: not split_list(s) or
                                   not all(is_waste_class(x) for x in split_list(s)))
    fail_first(frame, bad, path,
                lambda r: f"approval {r['approval_no']}: waste_codes {r['waste_codes']!r} must "
                          "list codes NNN-NNN-NN or categories HWnn, separated by ';'")
    frame["valid_from"] = _dates(frame, path, "valid_from")
    frame["valid_to"] = _dates(frame, path, "valid_to")
    frame["whitelist"] = _flag(frame, path, "whitelist")
    frame["demo"] = _flag(frame, path, "demo")
    return frame


@lru_cache(maxsize=4)
def _whitelist(key: tuple) -> pd.DataFrame:
    frame, path = _read("whitelist", key)
    require_values(frame, path, FILES["whitelist"][1])
    fail_first(frame, ~frame["waste_class"].map(is_waste_class), path,
                lambda r: f"waste_class {r['waste_class']!r} is not NNN-NNN-NN or HWnn")
    frame["valid_from"] = _dates(frame, path, "valid_from")
    frame["valid_to"] = _dates(frame, path, "valid_to")
    frame["demo"] = _flag(frame, path, "demo")
    return frame


@lru_cache(maxsize=4)
def _anomaly_rules(key: tuple) -> pd.DataFrame:
    frame, path = _read("anomaly_rules", key)
    require_values(frame, path, FILES["anomaly_rules"][1])
    require_unique(frame, path, "anomaly")
    return frame


_LOADERS = {"provinces": _provinces, "categories": _categories, "waste_codes": _waste_codes,
            "facilities": _facilities, "approvals": _approvals, "whitelist": _whitelist,
            "anomaly_rules": _anomaly_rules}


def _dates(frame: pd.DataFrame, path: str, column: str) -> pd.Series:
    """ISO dates; an empty cell stays missing (NaT), anything else must parse."""
    empty = frame[column] == ""
    parsed = pd.to_datetime(frame[column].mask(empty), format="%Y-%m-%d", errors="coerce")
    fail_first(frame, ~empty & parsed.isna(), path,
                lambda r: f"{column} {r[column]!r} is not a date YYYY-MM-DD")
    return parsed.dt.date


def _flag(frame: pd.DataFrame, path: str, column: str) -> pd.Series:
    lowered = frame[column].str.lower()
    fail_first(frame, ~lowered.isin({"true", "false"}), path,
                lambda r: f"{column} {r[column]!r} is not true/false")
    return lowered == "true"
