"""config/hazwaste.yaml as typed settings (calendar, rule tolerances, severities)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from envmon.core.config import load_yaml
from envmon.core.errors import ConfigError
from envmon.hazwaste.calendar import WorkingCalendar, from_config

CONFIG_FILE = "hazwaste.yaml"
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Edition:
    edition: str
    valid_from: date
    valid_to: date | None

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Rules:
    calendar: WorkingCalendar
    confirm_within_working_days: int
    paper_entry_within_working_days: int
    in_transit_max_days: float
    quantity_tolerance_percent: float
    quantity_tolerance_min_t: float
    whitelist_transport_days: int
    editions: tuple[Edition, ...]
    max_line_tonnes: float
    severities: dict[str, str]

    def edition_on(self, day: date) -> Edition | None:
        return next((e for e in self.editions if e.in_force(day)), None)


def load_rules() -> Rules:
    raw = load_yaml(CONFIG_FILE)
    rules = raw.get("rules") or {}
    where = f"config/{CONFIG_FILE}"

    def number(key: str, section: dict[str, Any] = rules, minimum: float = 0) -> float:
        value = section.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise ConfigError(f"{where}: {key} must be a number >= {minimum}, not {value!r}")
        return float(value)

    editions = []
    for item in rules.get("waste_code_editions") or []:
        if not isinstance(item.get("valid_from"), date):
            raise ConfigError(f"{where}: waste_code_editions: valid_from must be a date")
        editions.append(Edition(str(item["edition"]), item["valid_from"], item.get("valid_to")))
    severities = {str(k): str(v) for k, v in (raw.get("severities") or {}).items()}
    bad = {k: v for k, v in severities.items() if v not in SEVERITIES}
    if bad:
        raise ConfigError(f"{where}: severities must be one of {', '.join(SEVERITIES)}: {bad}")
    return Rules(
        calendar=from_config(raw.get("calendar") or {}),
        confirm_within_working_days=int(number("confirm_within_working_days", minimum=1)),
        paper_entry_within_working_days=int(number("paper_entry_within_working_days",
                                                   minimum=1)),
        in_transit_max_days=number("in_transit_max_days"),
        quantity_tolerance_percent=number("quantity_tolerance_percent"),
        quantity_tolerance_min_t=number("quantity_tolerance_min_t"),
        whitelist_transport_days=int(number("whitelist_transport_days", minimum=1)),
        editions=tuple(editions),
        max_line_tonnes=number("max_line_tonnes", raw, minimum=0),
        severities=severities,
    )
