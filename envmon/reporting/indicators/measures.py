"""The measures config/commitments.yaml may name, with the check of each one's params.

Only the standard library at module level: config.py checks indicators
against this table, and the measures themselves (air.py, water.py,
hazwaste.py, context.py) import config.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _no_check(params: dict[str, Any]) -> None:
    return None


def _check_column(params: dict[str, Any]) -> None:
    if not str(params["column"]).isidentifier():
        raise ValueError(f"column {params['column']!r} is not a column name")


def _check_percentile(params: dict[str, Any]) -> None:
    _check_column(params)
    if not 0 < float(params["p"]) <= 1:
        raise ValueError("p must be in (0, 1]")


def _check_level(key: str) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        from envmon.air.standards import categories

        if int(params[key]) not in set(categories()["level"]):
            raise ValueError(f"{key} {params[key]} is not an HJ 633 category level")
    return check


def _check_of(count: int) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        of = params["of"]
        names = [of] if isinstance(of, str) else list(of)
        if len(names) != count:
            raise ValueError(f"of must name {count} indicator(s)")
    return check


def _check_rank(key: str) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        if not 1 <= int(params[key]) <= 6:
            raise ValueError(f"{key} must be a class rank 1 (I) .. 6 (worse than V)")
    return check


def _check_list(key: str) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        if not isinstance(params[key], list) or not params[key]:
            raise ValueError(f"{key} must be a non-empty list")
    return check


@dataclass(frozen=True)
class MeasureSpec:
    domain: str  # air, water, hazwaste, or any (derived from other indicators)
    monotone: bool  # the value only grows over a period (counts, sums)
    check: Callable[[dict[str, Any]], None]


MEASURES: dict[str, MeasureSpec] = {
    "air_mean": MeasureSpec("air", False, _check_column),
    "air_percentile": MeasureSpec("air", False, _check_percentile),
    "air_day_ratio": MeasureSpec("air", False, _check_level("max_category_level")),
    "air_day_count": MeasureSpec("air", True, _check_level("min_category_level")),
    "change": MeasureSpec("any", False, _check_of(1)),
    "both_down": MeasureSpec("any", False, _check_of(2)),
    "water_compliance": MeasureSpec("water", False, _no_check),
    "water_share_classes": MeasureSpec("water", False, _check_rank("max_rank")),
    "water_sections_worse": MeasureSpec("water", True, _check_rank("min_rank")),
    "water_compensation": MeasureSpec("water", True, _no_check),
    "hw_electronic_share": MeasureSpec("hazwaste", False, _no_check),
    "hw_xprov_approved_share": MeasureSpec("hazwaste", False, _check_list("invalid_anomalies")),
    "hw_confirmed_in_time": MeasureSpec("hazwaste", False, lambda p: str(p["late_anomaly"])),
    "hw_open_anomalies": MeasureSpec("hazwaste", False, lambda p: str(p["severity"])),
}
