"""Period assessment: daily and monthly section values, class, target compliance, TLI.

The 2011 evaluation method: the mean of each item over the period, then the
single-factor class of those means. Means pool every preferred reading of the
period: the automatic station's readings and the month's laboratory
samples (for items only the laboratory measures, the mean is the lab
value). When two sources deliver the same section, time and kind of sample,
the configured `water.source_priority` picks one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envmon.core.sources import preferred_rows
from envmon.water import schema
from envmon.water.classify import classify
from envmon.water.reference import class_rank, load_classes, registry_values
from envmon.water.tli import tli

_SECTION_ATTRS = ("section_name", "province_code", "city_code", "water_body",
                  "water_type_source", "water_name", "registered")


def preferred(readings: pd.DataFrame) -> pd.DataFrame:
    """One reading per section, time and kind of sample: the highest-priority source."""
    return preferred_rows(readings, "water", ("section_code", "ts", "sample_kind"))


def assess_period(readings: pd.DataFrame) -> pd.DataFrame:
    """PERIOD_COLUMNS for one period's readings (already limited to the period)."""
    return assess_sums(period_sums(readings))


def period_sums(readings: pd.DataFrame) -> pd.DataFrame:
    """SUMS_COLUMNS for one period's readings: per section, what its means are made of.

    The sums of consecutive periods add up (assess_sums), so a month is
    assessed from its days' sums without reading its readings again.
    """
    if readings.empty:
        return pd.DataFrame(columns=list(schema.SUMS_COLUMNS))
    rows = preferred(readings)
    days = rows["ts"].dt.tz_convert("Asia/Shanghai").dt.date
    grouped = rows.assign(_day=days).groupby("section_code", sort=True)
    values = grouped[list(schema.ITEMS)]
    # pandas sums with the same compensated summation as its mean, so a
    # period's sum / count is bit for bit the mean of its readings.
    out = pd.concat([values.sum().set_axis(list(schema.SUM_COLUMNS), axis=1),
                     values.count().set_axis(list(schema.COUNT_COLUMNS), axis=1)], axis=1)
    out["n_readings"] = grouped.size()
    out["n_days"] = grouped["_day"].nunique()
    out["sources"] = _source_lists(rows["section_code"], rows["source"])
    # Section attributes: the latest reading's (the registry at load time).
    last = rows.sort_values("ts", kind="stable").groupby("section_code").last()
    for column in _SECTION_ATTRS:
        out[column] = last[column]
    return out.reset_index()[list(schema.SUMS_COLUMNS)]


def assess_sums(sums: pd.DataFrame) -> pd.DataFrame:
    """PERIOD_COLUMNS from period_sums rows of consecutive periods, in time order."""
    if sums.empty:
        return pd.DataFrame(columns=list(schema.PERIOD_COLUMNS))
    grouped = sums.groupby("section_code", sort=True)
    totals = grouped[[*schema.SUM_COLUMNS, *schema.COUNT_COLUMNS, "n_readings", "n_days"]].sum()
    counts = totals[list(schema.COUNT_COLUMNS)].to_numpy(dtype="float64")
    summed = totals[list(schema.SUM_COLUMNS)].to_numpy(dtype="float64")
    means = np.where(counts > 0, summed / np.where(counts > 0, counts, 1.0), np.nan)
    out = pd.DataFrame(means, index=totals.index, columns=list(schema.ITEMS))
    out["n_readings"] = totals["n_readings"]
    out["n_days"] = totals["n_days"]
    lists = sums[["section_code", "sources"]].drop_duplicates()
    if lists["section_code"].is_unique:  # the same sources every day: nothing to merge
        out["sources"] = lists.set_index("section_code")["sources"]
    else:
        named = lists["sources"].str.split(",").explode()
        out["sources"] = _source_lists(lists.loc[named.index, "section_code"], named)
    # The latest period's attributes; a column it lacks, from the one before.
    last = grouped[list(_SECTION_ATTRS)].last()
    for column in _SECTION_ATTRS:
        out[column] = last[column]
    return _assessed(out.reset_index())


def _source_lists(codes: pd.Series, names: pd.Series) -> pd.Series:
    """Per section code, its distinct source names sorted and comma-joined.

    Each section's set of sources is a bit mask summed per section (a
    source counted once), and each distinct mask (a handful) is spelt out
    once: a national month has thousands of sections.
    """
    pairs = pd.DataFrame({"code": codes.to_numpy(), "name": names.to_numpy()}).drop_duplicates()
    sources, which = np.unique(pairs["name"].to_numpy(dtype=object), return_inverse=True)
    masks = pd.Series(np.left_shift(1, which.reshape(-1).astype("int64")),
                      index=pairs["code"].to_numpy()).groupby(level=0, sort=True).sum()
    spelt = {mask: ",".join(name for bit, name in enumerate(sources) if mask >> bit & 1)
             for mask in masks.unique()}
    return masks.map(spelt).astype("str")


def _assessed(out: pd.DataFrame) -> pd.DataFrame:
    """Per-section means -> PERIOD_COLUMNS: registry, class, target compliance, TLI."""
    out = _with_registry(out)
    classes = classify(out)
    out = pd.concat([out, classes], axis=1)
    labels = dict(zip(load_classes()["water_class"], load_classes()["label_zh"], strict=True))
    out["class_label"] = out["water_class"].map(labels)
    ranks = {t: class_rank(t) for t in out["target_class"].dropna().unique()}
    out["target_rank"] = pd.array(out["target_class"].map(ranks), dtype="Int32")
    assessed = out["class_rank"].notna() & out["target_rank"].notna()
    compliant = pd.array([pd.NA] * len(out), dtype="boolean")
    compliant[assessed.to_numpy()] = (out.loc[assessed, "class_rank"]
                                      <= out.loc[assessed, "target_rank"]).to_numpy()
    out["compliant"] = compliant
    out = pd.concat([out, tli(out)], axis=1)
    return out[list(schema.PERIOD_COLUMNS)]


def _with_registry(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ("cross_boundary", "upstream_code", "downstream_code", "target_class")
    _, registered = registry_values(frame["section_code"], columns)
    out = frame.copy()
    for column, values in registered.items():
        out[column] = pd.Series(values, index=frame.index, dtype=object)
    out["cross_boundary"] = out["cross_boundary"].fillna(False).astype(bool)
    return out
