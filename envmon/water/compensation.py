"""Upstream-downstream compensation per section and month (Jiangsu regional scheme).

Per factor f of config/water_compensation.yaml:

    amount_f (CNY) = (C_f - T_f) [mg/L = g/m³] × Q [m³] ÷ 10⁶ [g per t] × P_f [CNY/t]

C_f is the section's monthly mean, T_f the upper limit of the section's target
class for f in GB 3838-2002 Table 1 (river or lake TP by the water body), Q
the month's flow volume and P_f the unit price. One-way (the Taihu pilot): a
factor counts only above its target, so a section meeting its target owes
nothing. Two-way (the 2013 provincial scheme): every factor counts with its
sign. A positive total is paid by the upstream area to the downstream one, a
negative total (two-way only) the other way round.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from envmon.core.config import config_dir, load_yaml
from envmon.core.errors import ConfigError
from envmon.water import schema
from envmon.water.reference import area_names, class_rank, load_limits, load_sections

CONFIG_FILE = "water_compensation.yaml"
GRAMS_PER_TONNE = 1_000_000.0


@dataclass(frozen=True)
class Scheme:
    name: str
    two_way: bool
    prices: dict[str, float]  # factor -> CNY/t
    sections: tuple[str, ...]
    flows: dict[str, dict[str, float]]  # section -> {"YYYY-MM" | "default": m³/s}
    flow_file: Path | None


def load_scheme(config: dict[str, Any] | None = None) -> Scheme:
    """config/water_compensation.yaml, validated."""
    cfg = config if config is not None else load_yaml(CONFIG_FILE)
    where = config_dir() / CONFIG_FILE
    factors = cfg.get("factors") or {}
    if not isinstance(factors, dict) or not factors:
        raise ConfigError(f"{where}: `factors` must map factor names to prices")
    limits = {lim.item for lim in load_limits() if lim.bound == "max"}
    prices: dict[str, float] = {}
    for factor, spec in factors.items():
        if factor not in limits:
            raise ConfigError(f"{where}: factor {factor!r} has no GB 3838 upper limit "
                              f"(known: {', '.join(sorted(limits))})")
        price = (spec or {}).get("price_cny_per_t") if isinstance(spec, dict) else None
        if not isinstance(price, int | float) or price < 0:
            raise ConfigError(f"{where}: factor {factor!r} needs price_cny_per_t >= 0")
        prices[factor] = float(price)
    registry = set(load_sections()["section_code"])
    sections = tuple(str(s) for s in cfg.get("sections") or [])
    unknown = [s for s in sections if s not in registry]
    if unknown:
        raise ConfigError(f"{where}: sections not in the registry: {', '.join(unknown)}")
    flows: dict[str, dict[str, float]] = {}
    for code, spec in (cfg.get("flows") or {}).items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: flows.{code} must map YYYY-MM or default to m³/s")
        flows[str(code)] = {}
        for month, value in spec.items():
            if not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{where}: flows.{code}.{month}: {value!r} is not a flow "
                                  "in m³/s")
            flows[str(code)][str(month)] = float(value)
    flow_file = cfg.get("flow_file")
    path = None
    if flow_file:
        path = Path(str(flow_file)).expanduser()
        path = path if path.is_absolute() else config_dir() / path
    return Scheme(name=str(cfg.get("scheme") or "compensation"),
                  two_way=bool(cfg.get("two_way", False)), prices=prices, sections=sections,
                  flows=flows, flow_file=path)


def seconds_in_month(month: str) -> float:
    year, number = (int(p) for p in month.split("-"))
    return calendar.monthrange(year, number)[1] * 86400.0


def month_flow(scheme: Scheme, section: str, month: str, registry_flow: float | None
               ) -> tuple[float | None, float | None, str]:
    """(mean flow m³/s, volume m³, where it came from) for one section-month."""
    seconds = seconds_in_month(month)
    from_file = _flow_file(scheme.flow_file).get((section, month))
    if from_file is not None:
        volume, mean = from_file
        return (mean if mean is not None else volume / seconds,
                volume if volume is not None else mean * seconds, "flow file")
    configured = scheme.flows.get(section, {})
    for key, label in ((month, f"config {month}"), ("default", "config default")):
        if key in configured:
            return configured[key], configured[key] * seconds, label
    if registry_flow is not None and math.isfinite(registry_flow):
        return registry_flow, registry_flow * seconds, "registry mean flow"
    return None, None, "no flow"


def _flow_file(path: Path | None) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    if path is None:
        return {}
    if not path.is_file():
        raise ConfigError(f"{path}: flow file not found (water_compensation.yaml flow_file)")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"section_code", "month"} <= set(frame.columns) or not (
            {"flow_m3", "flow_m3s"} & set(frame.columns)):
        raise ConfigError(f"{path}: needs columns section_code, month and flow_m3 or flow_m3s")
    out = {}
    for index, row in frame.iterrows():
        values = []
        for column in ("flow_m3", "flow_m3s"):
            text = str(row.get(column, "")).strip()
            try:
                values.append(float(text) if text else None)
            except ValueError:
                raise ConfigError(f"{path}: line {index + 2}: {column} {text!r} is not a "
                                  "number") from None
        if all(v is None for v in values) or any(v is not None and v < 0 for v in values):
            raise ConfigError(f"{path}: line {index + 2}: needs a non-negative flow")
        out[(row["section_code"].strip(), row["month"].strip())] = tuple(values)
    return out


def target_limit(factor: str, target_class: str, water_body: str) -> float | None:
    """Upper limit of `target_class` for `factor` (GB 3838-2002 Table 1)."""
    rank = class_rank(target_class)
    if rank is None or rank > 5:
        return None
    for limit in load_limits():
        if limit.item == factor and limit.bound == "max" and \
                limit.applies_to in ("all", water_body):
            return limit.limits[rank - 1]
    return None


def compensate(monthly: pd.DataFrame, month: str, scheme: Scheme | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(COMPENSATION_COLUMNS, FACTOR_COLUMNS) for the scheme's sections in `monthly`."""
    scheme = scheme or load_scheme()
    registry = load_sections().set_index("section_code")
    names = area_names()
    by_code = monthly.set_index("section_code") if not monthly.empty else monthly
    summaries, factors = [], []
    for code in scheme.sections:
        if code not in by_code.index:
            continue  # no reading this month: nothing to assess
        row = by_code.loc[code]
        section = registry.loc[code]
        flow_s, volume, flow_source = month_flow(scheme, code, month, section["mean_flow_m3s"])
        total, complete, detail = 0.0, True, []
        for factor, price in scheme.prices.items():
            measured = row.get(factor)
            target = target_limit(factor, section["target_class"], section["water_body"])
            record = {"section_code": code, "factor": factor, "price_cny_per_t": price,
                      "flow_m3": volume, "target_mg_l": target,
                      "measured_mg_l": None if pd.isna(measured) else float(measured)}
            if record["measured_mg_l"] is None or target is None or volume is None:
                complete = False
                record.update(delta_mg_l=None, load_t=None, amount_cny=None, counted=False)
                detail.append(f"{factor}: not computed")
            else:
                delta = record["measured_mg_l"] - target
                counted = scheme.two_way or delta > 0
                load_t = delta * volume / GRAMS_PER_TONNE  # mg/L = g/m³; g -> t
                amount = load_t * price if counted else 0.0
                total += amount
                record.update(delta_mg_l=delta, load_t=load_t, amount_cny=amount,
                              counted=counted)
                detail.append(f"{factor} {record['measured_mg_l']:.3g} vs {target:g} mg/L: "
                              f"{amount:,.0f} CNY")
            factors.append(record)
        up, down = section["upstream_code"], section["downstream_code"]
        payer = payee = None
        if volume is not None and round(total, 2) > 0:
            payer, payee = up, down
        elif volume is not None and round(total, 2) < 0:
            payer, payee = down, up
        summaries.append({
            "section_code": code, "section_name": section["section_name"],
            "upstream_code": up, "upstream_name": names.get(up),
            "downstream_code": down, "downstream_name": names.get(down),
            "target_class": section["target_class"], "water_class": row.get("water_class"),
            "compliant": row.get("compliant"), "flow_m3s": flow_s, "flow_m3": volume,
            "flow_source": flow_source, "two_way": scheme.two_way,
            "amount_cny": abs(total) if volume is not None else None,
            "payer_code": payer, "payer_name": names.get(payer) if payer else None,
            "payee_code": payee, "payee_name": names.get(payee) if payee else None,
            "factors_complete": complete,
            "detail": "; ".join(detail) + ("" if volume is not None else f" ({flow_source})"),
            "scheme": scheme.name,
        })
    summary = pd.DataFrame(summaries, columns=list(schema.COMPENSATION_COLUMNS))
    detail_frame = pd.DataFrame(factors, columns=list(schema.FACTOR_COLUMNS))
    return summary, detail_frame
