"""GB 3838-2002 single-factor classification (地表水环境质量评价办法(试行), 2011).

An item's class is the first of I..V whose Table 1 limit the value meets
("at most" for concentrations, "at least" for dissolved oxygen, within 6-9 for
pH); a value that meets none is worse than V (劣V, rank 6). A sample's class is
the worst class among its evaluated items, and the items at that class are the
deciding items. Water temperature, total nitrogen and fecal coliform are not
evaluated (the 2011 method): total nitrogen gets its own class for lakes and
reservoirs, fecal coliform its own class everywhere. Total phosphorus uses
the river or the lake/reservoir limits by the section's water body.

The same function classifies one reading, a day's means and a month's means
(the 2011 method: mean of each item over the period, then the single-factor
rule). Values are compared as given, without rounding to the standard's
decimals (whether the method rounds first is not confirmed here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envmon.water.reference import CLASS_NAMES, WORSE_THAN_V, Limit, load_limits

NAMES = np.array([*CLASS_NAMES, WORSE_THAN_V], dtype=object)


def item_ranks(frame: pd.DataFrame, limits: tuple[Limit, ...] | None = None
               ) -> dict[str, np.ndarray]:
    """Item -> class rank per row (1..6, NaN when the value is missing or no limit applies).

    `frame` needs the item columns present in it and `water_body` (river|lake).
    """
    limits = limits if limits is not None else load_limits()
    body = frame["water_body"].to_numpy(dtype=object)
    out: dict[str, np.ndarray] = {}
    for limit in limits:
        if limit.bound == "none" or limit.item not in frame:
            continue
        values = frame[limit.item].to_numpy(dtype="float64")
        applies = np.ones(len(frame), dtype=bool) if limit.applies_to == "all" \
            else (body == limit.applies_to)
        bounds = np.array(limit.limits)[None, :]
        meets = (values[:, None] <= bounds) if limit.bound == "max" \
            else (values[:, None] >= bounds)
        # first class met; 6 (worse than V) when none is
        rank = np.where(meets.any(axis=1), meets.argmax(axis=1) + 1, 6).astype("float64")
        rank[np.isnan(values) | ~applies] = np.nan
        previous = out.get(limit.item)
        # pH has two rows (min 6, max 9): the item's class is the worse one.
        out[limit.item] = rank if previous is None else np.fmax(previous, rank)
    return out


def classify(frame: pd.DataFrame, limits: tuple[Limit, ...] | None = None) -> pd.DataFrame:
    """The class columns for each row of `frame` (index kept).

    water_class ('I'..'V', '劣V', None when no evaluated item has a value),
    class_rank (1..6), deciding_items (comma-separated items at the class),
    items_evaluated (count), tn_class (lakes), fecal_coliform_class.
    """
    limits = limits if limits is not None else load_limits()
    ranks = item_ranks(frame, limits)
    evaluated = sorted({lim.item for lim in limits if lim.evaluated and lim.item in ranks},
                       key=list(ranks).index)
    n = len(frame)
    if evaluated:
        matrix = np.column_stack([ranks[i] for i in evaluated])
        counted = ~np.isnan(matrix)
        worst = np.where(counted.any(axis=1), np.nanmax(np.where(counted, matrix, -1), axis=1),
                         np.nan)
        at_worst = counted & (matrix == worst[:, None])
        deciding = _deciding(at_worst, np.array(evaluated, dtype=object))
        n_items = counted.sum(axis=1)
    else:
        worst = np.full(n, np.nan)
        deciding = [None] * n
        n_items = np.zeros(n, dtype=int)
    out = pd.DataFrame(index=frame.index)
    out["water_class"] = _names(worst, frame.index)
    rank = pd.array(np.where(np.isnan(worst), 0, worst).astype(int), dtype="Int32")
    rank[np.isnan(worst)] = pd.NA
    out["class_rank"] = rank
    out["deciding_items"] = pd.Series(deciding, index=frame.index, dtype="str")
    out["items_evaluated"] = pd.array(n_items, dtype="Int32")
    out["tn_class"] = _names(ranks.get("tn", np.full(n, np.nan)), frame.index)
    out["fecal_coliform_class"] = _names(ranks.get("fecal_coliform", np.full(n, np.nan)),
                                         frame.index)
    return out


def class_complete(classes: pd.DataFrame, refused: pd.Series,
                   limits: tuple[Limit, ...] | None = None) -> pd.Series:
    """Per row (classify's output): False when a refused item could change the class.

    `refused` is each row's comma-separated refused items (`items_refused`).
    One more item can only make a single-factor class worse, so the class
    stands when no item used for it was refused, or when it is already 劣V.
    """
    limits = limits if limits is not None else load_limits()
    evaluated = {lim.item for lim in limits if lim.evaluated}
    lists = refused.fillna("").astype(str)
    # Per distinct list: a national page has a handful, not one per reading.
    touches = lists.map({text: bool(evaluated & set(text.split(","))) for text in lists.unique()})
    worst = (classes["class_rank"] == len(NAMES)).fillna(False)
    return (~touches.astype(bool) | worst.astype(bool)).rename("class_complete")


def _deciding(at_worst: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Per row the comma-joined items at the worst class: spelt once per distinct pattern."""
    if not len(at_worst):
        return np.array([], dtype=object)
    patterns, which = np.unique(at_worst, axis=0, return_inverse=True)
    spelt = np.array([",".join(names[p]) if p.any() else None for p in patterns], dtype=object)
    return spelt[which.reshape(-1)]


def _names(ranks: np.ndarray, index: pd.Index) -> pd.Series:
    safe = np.where(np.isnan(ranks), 1, ranks).astype(int) - 1
    return pd.Series(np.where(np.isnan(ranks), None, NAMES[safe]), index=index, dtype="str")
