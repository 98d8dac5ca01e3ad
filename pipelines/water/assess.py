"""Period assessment: daily and monthly section values, class, target compliance, TLI.

The 2011 evaluation method: the mean of each item over the period, then the
single-factor class of those means. Means pool every preferred reading of the
period: the automatic station's readings and the month's laboratory
samples (for items only the laboratory measures, the mean is the lab
value). When two sources deliver the same section, time and kind of sample,
the configured `water.source_priority` picks one.
"""

from __future__ import annotations

import pandas as pd

from pipelines.core.config import domain_settings
from pipelines.water import schema
from pipelines.water.classify import classify
from pipelines.water.reference import class_rank, load_classes, load_sections
from pipelines.water.tli import tli

_SECTION_ATTRS = ("section_name", "province_code", "city_code", "water_body", "water_name",
                  "registered")


def preferred(readings: pd.DataFrame) -> pd.DataFrame:
    """One reading per section, time and kind of sample: the highest-priority source."""
    if readings.empty:
        return readings
    priority = domain_settings("water").get("source_priority") or []
    rank = {name: i for i, name in enumerate(priority)}
    ranked = readings.assign(_rank=readings["source"].map(rank).fillna(len(rank)))
    ranked = ranked.sort_values(["section_code", "ts", "sample_kind", "_rank", "source"],
                                kind="stable")
    return ranked.drop_duplicates(["section_code", "ts", "sample_kind"]).drop(
        columns=["_rank", "_part"], errors="ignore")


def assess_period(readings: pd.DataFrame) -> pd.DataFrame:
    """PERIOD_COLUMNS for one period's readings (already limited to the period)."""
    if readings.empty:
        return pd.DataFrame(columns=list(schema.PERIOD_COLUMNS))
    rows = preferred(readings)
    days = rows["ts"].dt.tz_convert("Asia/Shanghai").dt.date
    grouped = rows.assign(_day=days).groupby("section_code", sort=True)
    out = grouped[list(schema.ITEMS)].mean()
    out["n_readings"] = grouped.size()
    out["n_days"] = grouped["_day"].nunique()
    out["sources"] = grouped["source"].agg(lambda s: ",".join(sorted(set(s))))
    # Section attributes: the latest reading's (the registry at load time).
    last = rows.sort_values("ts").groupby("section_code").last()
    for column in _SECTION_ATTRS:
        out[column] = last[column]
    out = out.reset_index()
    out = _with_registry(out)
    classes = classify(out)
    out = pd.concat([out, classes], axis=1)
    labels = dict(zip(load_classes()["water_class"], load_classes()["label_zh"], strict=True))
    out["class_label"] = out["water_class"].map(labels)
    out["target_rank"] = pd.array([class_rank(t) for t in out["target_class"]], dtype="Int32")
    assessed = out["class_rank"].notna() & out["target_rank"].notna()
    compliant = pd.array([pd.NA] * len(out), dtype="boolean")
    compliant[assessed.to_numpy()] = (out.loc[assessed, "class_rank"]
                                      <= out.loc[assessed, "target_rank"]).to_numpy()
    out["compliant"] = compliant
    out = pd.concat([out, tli(out)], axis=1)
    return out[list(schema.PERIOD_COLUMNS)]


def _with_registry(frame: pd.DataFrame) -> pd.DataFrame:
    registry = load_sections().set_index("section_code")
    known = frame["section_code"].isin(registry.index)
    out = frame.copy()
    for column in ("cross_boundary", "upstream_code", "downstream_code", "target_class"):
        values = frame["section_code"].map(registry[column])
        out[column] = values.where(known, None)
    out["cross_boundary"] = out["cross_boundary"].fillna(False).astype(bool)
    return out

