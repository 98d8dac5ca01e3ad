"""Trophic state index TLI(Σ) for lakes and reservoirs (2011 evaluation method).

    TLI(Σ) = Σ W_j · TLI(j),   W_j = r_j² / Σ r_i²   (r_j: correlation with chl-a)
    TLI(j) = 10 · (a_j + b_j · ln x_j)

with x in the formula's unit (chl-a mg/m³: the feeds give mg/L, × 1000).
Coefficients and bands live in reference/water/tli_parameters.csv and
tli_bands.csv. When a parameter is missing (Secchi depth is not measured by
the automatic stations) the weights are renormalised over the parameters
present, and `tli_note` says which were missing: such a TLI is not the
five-parameter index of the method and is only comparable with others built
from the same parameters. Chlorophyll a is the reference of the weights, so
without it there is no TLI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envmon.water.reference import load_tli


def tli(frame: pd.DataFrame) -> pd.DataFrame:
    """tli, tli_band, tli_params, tli_note for each row (lake rows only; others empty).

    `frame` holds item columns in envmon units and `water_body`.
    """
    params, bands = load_tli()
    n = len(frame)
    lake = (frame["water_body"] == "lake").to_numpy()
    total = np.zeros(n)
    weight = np.zeros(n)
    present = np.zeros((n, len(params)), dtype=bool)
    for j, p in enumerate(params):
        if p.item not in frame:
            continue
        x = frame[p.item].to_numpy(dtype="float64") * p.factor
        ok = lake & np.isfinite(x) & (x > 0)  # ln needs a positive value
        score = 10.0 * (p.intercept + p.slope * np.log(np.where(ok, x, 1.0)))
        total += np.where(ok, p.r ** 2 * score, 0.0)
        weight += np.where(ok, p.r ** 2, 0.0)
        present[:, j] = ok
    chla = [j for j, p in enumerate(params) if p.param == "chla"][0]
    usable = lake & present[:, chla]
    value = np.where(usable, total / np.where(weight > 0, weight, 1.0), np.nan)
    names = [p.param for p in params]
    used, notes = [], []
    for row in range(n):
        if not lake[row]:
            used.append(None)
            notes.append(None)
            continue
        have = [names[j] for j in range(len(params)) if present[row, j]]
        missing = [names[j] for j in range(len(params)) if not present[row, j]]
        used.append(",".join(have) if usable[row] else None)
        if not usable[row]:
            notes.append("no chlorophyll a: no TLI")
        elif missing:
            notes.append(f"missing {', '.join(missing)}: weights renormalised over "
                         f"{len(have)} parameters")
        else:
            notes.append(None)
    out = pd.DataFrame(index=frame.index)
    out["tli"] = value
    out["tli_band"] = pd.Series([_band(v, bands) for v in value], index=frame.index, dtype="str")
    out["tli_params"] = pd.Series(used, index=frame.index, dtype="str")
    out["tli_note"] = pd.Series(notes, index=frame.index, dtype="str")
    return out


def _band(value: float, bands) -> str | None:
    if not np.isfinite(value):
        return None
    return next((b.band for b in bands if b.contains(float(value))), None)
