"""Trophic state index (2011 evaluation method) against hand-worked values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from envmon.water.tli import tli

# chl-a 0.010 mg/L = 10 mg/m³, TP 0.05, TN 1.0, SD 0.5 m, CODMn 4:
#   TLI(chla)  = 10 (2.5   + 1.086 ln 10)   = 50.0061
#   TLI(TP)    = 10 (9.436 + 1.624 ln 0.05) = 45.7093
#   TLI(TN)    = 10 (5.453 + 1.694 ln 1)    = 54.53
#   TLI(SD)    = 10 (5.118 - 1.94  ln 0.5)  = 64.6271
#   TLI(CODMn) = 10 (0.109 + 2.661 ln 4)    = 37.9793
# r² = 1, 0.7056, 0.6724, 0.6889, 0.6889 (sum 3.7558):
#   TLI = (50.0061 + 0.7056·45.7093 + 0.6724·54.53 + 0.6889·64.6271 + 0.6889·37.9793)
#         / 3.7558 = 50.4846 -> light eutrophic (50 < TLI <= 60)
# Without SD the weights are over 3.0669: TLI = 47.3079 -> mesotrophic.
FULL = dict(chla=0.010, tp=0.05, tn=1.0, sd=0.5, codmn=4.0)


def frame(body: str = "lake", **items: float) -> pd.DataFrame:
    return pd.DataFrame([{"water_body": body, **items}])


def test_five_parameters() -> None:
    row = tli(frame(**FULL)).iloc[0]
    assert row["tli"] == pytest.approx(50.4846, abs=1e-3)
    assert row["tli_band"] == "light eutrophic"
    assert row["tli_params"] == "chla,tp,tn,sd,codmn"
    assert pd.isna(row["tli_note"])


def test_missing_secchi_depth_renormalises_and_says_so() -> None:
    row = tli(frame(**{**FULL, "sd": math.nan})).iloc[0]
    assert row["tli"] == pytest.approx(47.3079, abs=1e-3)
    assert row["tli_band"] == "mesotrophic"
    assert row["tli_params"] == "chla,tp,tn,codmn"
    assert "missing sd" in row["tli_note"]


def test_no_chlorophyll_no_tli_and_rivers_have_none() -> None:
    no_chla = tli(frame(**{**FULL, "chla": math.nan})).iloc[0]
    assert pd.isna(no_chla["tli"]) and "no chlorophyll" in no_chla["tli_note"]
    river = tli(frame("river", **FULL)).iloc[0]
    assert pd.isna(river["tli"]) and pd.isna(river["tli_note"])


@pytest.mark.parametrize(("chla_mg_m3", "band"), [
    # chl-a alone: TLI = 10 (2.5 + 1.086 ln x); x = exp((T/10 - 2.5)/1.086)
    (math.exp((2.9 - 2.5) / 1.086), "oligotrophic"),        # 29
    (math.exp((3.0 - 2.5) / 1.086), "mesotrophic"),         # 30 exactly
    (math.exp((5.0 - 2.5) / 1.086), "mesotrophic"),         # 50 exactly
    (math.exp((5.5 - 2.5) / 1.086), "light eutrophic"),     # 55
    (math.exp((6.5 - 2.5) / 1.086), "middle eutrophic"),    # 65
    (math.exp((7.5 - 2.5) / 1.086), "hyper eutrophic"),     # 75
])
def test_bands(chla_mg_m3: float, band: str) -> None:
    row = tli(frame(chla=chla_mg_m3 / 1000.0)).iloc[0]  # the feeds give mg/L
    assert row["tli_band"] == band
