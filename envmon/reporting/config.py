"""config/commitments.yaml: the indicators, their targets and the status rules.

Targets are data: every one carries its source and whether it is an example
(the shipped file's targets all are). A bureau points ENVMON_COMMITMENTS_CONFIG
(or ENVMON_CONFIG_DIR) at its own copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envmon.core.config import config_path as find_config
from envmon.core.config import load_yaml
from envmon.core.errors import ConfigError
from envmon.reporting.indicators.measures import MEASURES

CONFIG_ENV = "ENVMON_COMMITMENTS_CONFIG"
FILE_NAME = "commitments.yaml"

DOMAINS = ("air", "water", "hazwaste")
LEVELS = ("city", "province", "region")
DIRECTIONS = ("lower", "higher")
PERIODS = ("year",)


@dataclass(frozen=True)
class Indicator:
    id: str
    title: str
    title_zh: str
    short: str
    domain: str
    measure: str
    params: dict[str, Any]
    unit: str
    decimals: int
    direction: str
    period: str
    levels: tuple[str, ...]
    target: float
    targets_by_area: dict[str, float]
    # None: no month rows; "same": the annual target; a number: its own.
    monthly_target: float | str | None
    example: bool
    target_source: str
    definition: str
    standard: str
    at_risk_margin: float

    def target_for(self, area_code: str, *, month: bool = False) -> float:
        """The target for an area (a per-area override wins), for the year or a month."""
        if month and self.monthly_target not in (None, "same"):
            return float(self.monthly_target)  # type: ignore[arg-type]
        return float(self.targets_by_area.get(area_code, self.target))


@dataclass(frozen=True)
class Commitments:
    region_code: str
    region_name_en: str
    region_name_zh: str
    area_min_city_share: float
    min_capture: dict[str, float]
    indicators: dict[str, Indicator]
    report: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def config_path() -> Path:
    return find_config(FILE_NAME, CONFIG_ENV)


def load_config(path: Path | None = None) -> Commitments:
    """Read and check the commitments file; a mistake is one ConfigError naming it."""
    path = path or config_path()
    return parse_config(load_yaml(path.resolve(), what="commitments configuration"), path)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Commitments:
    where = str(path or FILE_NAME)

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{where}: {message}")

    if not isinstance(data, dict):
        raise fail("expected a mapping at the top level")
    region = data.get("region") or {}
    status = data.get("status") or {}
    margin = _number(status.get("at_risk_margin", 0.0), "status.at_risk_margin", fail)
    share = _number(status.get("area_min_city_share", 1.0), "status.area_min_city_share", fail)
    if not 0 <= share <= 1:
        raise fail("status.area_min_city_share must be between 0 and 1")
    min_capture = {str(k): _number(v, f"status.min_capture.{k}", fail)
                   for k, v in (status.get("min_capture") or {}).items()}
    raw = data.get("indicators")
    if not isinstance(raw, dict) or not raw:
        raise fail("no indicators")
    indicators: dict[str, Indicator] = {}
    for ind_id, spec in raw.items():
        indicators[str(ind_id)] = _indicator(str(ind_id), spec, margin, fail)
    for ind in indicators.values():
        refs = ind.params.get("of")
        for ref in ([refs] if isinstance(refs, str) else list(refs or [])):
            if ref not in indicators or ref == ind.id:
                raise fail(f"indicator {ind.id}: params.of names unknown indicator {ref!r}")
            # No cycles: a change is of a measured indicator, "both down" of changes.
            derived = indicators[ref].measure in ("change", "both_down")
            if ind.measure == "change" and derived:
                raise fail(f"indicator {ind.id}: a change must be of a measured indicator, "
                           f"not of {ref!r}")
            if ind.measure == "both_down" and indicators[ref].measure != "change":
                raise fail(f"indicator {ind.id}: both_down takes change indicators, not {ref!r}")
    return Commitments(
        region_code=str(region.get("code", "yrd")),
        region_name_en=str(region.get("name_en", "Yangtze River Delta")),
        region_name_zh=str(region.get("name_zh", "长三角地区")),
        area_min_city_share=share,
        min_capture=min_capture,
        indicators=indicators,
        report=dict(data.get("report") or {}),
        path=path,
    )


def _indicator(ind_id: str, spec: Any, default_margin: float, fail) -> Indicator:
    if not isinstance(spec, dict):
        raise fail(f"indicator {ind_id}: expected a mapping")
    for key in ("title", "title_zh", "domain", "measure", "unit", "direction", "period",
                "levels", "target", "target_source", "definition", "standard"):
        if spec.get(key) in (None, ""):
            raise fail(f"indicator {ind_id}: {key} is required")
    if spec["domain"] not in DOMAINS:
        raise fail(f"indicator {ind_id}: domain must be one of {', '.join(DOMAINS)}")
    if spec["measure"] not in MEASURES:
        raise fail(f"indicator {ind_id}: unknown measure {spec['measure']!r} "
                   f"(known: {', '.join(sorted(MEASURES))})")
    if MEASURES[spec["measure"]].domain not in (spec["domain"], "any"):
        raise fail(f"indicator {ind_id}: measure {spec['measure']} is not a "
                   f"{spec['domain']} measure")
    if spec["direction"] not in DIRECTIONS:
        raise fail(f"indicator {ind_id}: direction must be lower or higher")
    if spec["period"] not in PERIODS:
        raise fail(f"indicator {ind_id}: period must be one of {', '.join(PERIODS)}")
    levels = tuple(spec["levels"]) if isinstance(spec["levels"], list) else ()
    if not levels or any(level not in LEVELS for level in levels):
        raise fail(f"indicator {ind_id}: levels must be a list of {', '.join(LEVELS)}")
    monthly = spec.get("monthly")
    if isinstance(monthly, dict):
        monthly_target: float | str | None = _number(monthly.get("target"),
                                                     f"{ind_id}.monthly.target", fail)
    elif monthly in (None, "same"):
        monthly_target = monthly
    else:
        raise fail(f"indicator {ind_id}: monthly must be 'same' or {{target: N}}")
    by_area = spec.get("targets_by_area") or {}
    if not isinstance(by_area, dict):
        raise fail(f"indicator {ind_id}: targets_by_area must map adcodes to targets")
    params = spec.get("params") or {}
    if not isinstance(params, dict):
        raise fail(f"indicator {ind_id}: params must be a mapping")
    try:
        MEASURES[spec["measure"]].check(params)
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(f"indicator {ind_id}: params: {exc}") from None
    return Indicator(
        id=ind_id, title=str(spec["title"]), title_zh=str(spec["title_zh"]),
        short=str(spec.get("short") or spec["title"]),
        domain=spec["domain"], measure=spec["measure"], params=params,
        unit=str(spec["unit"]), decimals=int(spec.get("decimals", 1)),
        direction=spec["direction"], period=spec["period"], levels=levels,
        target=_number(spec["target"], f"{ind_id}.target", fail),
        targets_by_area={str(k): _number(v, f"{ind_id}.targets_by_area.{k}", fail)
                         for k, v in by_area.items()},
        monthly_target=monthly_target,
        example=bool(spec.get("example", True)),
        target_source=" ".join(str(spec["target_source"]).split()),
        definition=" ".join(str(spec["definition"]).split()),
        standard=" ".join(str(spec["standard"]).split()),
        at_risk_margin=_number(spec.get("at_risk_margin", default_margin),
                               f"{ind_id}.at_risk_margin", fail),
    )


def _number(value: Any, name: str, fail) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"{name} must be a number, not {value!r}")
    return float(value)
