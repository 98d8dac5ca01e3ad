"""GB 3838-2002 single-factor classes against hand-worked samples.

Limits quoted in the comments are GB 3838-2002 Table 1 (mg/L unless noted);
the rules (worst item decides; water temperature, TN and fecal coliform left
out; TP by water body; period class from period means) are the 2011
evaluation method's.
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest

from envmon.core.timeutil import BEIJING
from envmon.water.assess import assess_period, assess_sums, period_sums
from envmon.water.classify import classify
from envmon.water.reference import class_rank
from envmon.water.schema import ITEMS, READINGS_COLUMNS


def one(body: str = "river", **items: float) -> pd.Series:
    frame = pd.DataFrame([{"water_body": body, **items}])
    return classify(frame).iloc[0]


@pytest.mark.parametrize(("items", "expected", "deciding"), [
    # I: pH 6-9; DO 8.0 >= 7.5; CODMn 1.5 <= 2; NH3-N 0.1 <= 0.15; TP river 0.015 <= 0.02
    (dict(ph=7.5, do=8.0, codmn=1.5, nh3n=0.1, tp=0.015), "I", "ph,do,codmn,nh3n,tp"),
    # II: DO 6.5 (>= 6, < 7.5); CODMn 3 (<= 4); NH3-N 0.3 (<= 0.5); TP 0.05 (<= 0.1)
    (dict(ph=7.0, do=6.5, codmn=3.0, nh3n=0.3, tp=0.05), "II", "do,codmn,nh3n,tp"),
    # III: NH3-N 0.8 (0.5 < x <= 1.0), the others better
    (dict(ph=7.2, do=7.8, codmn=3.5, nh3n=0.8, tp=0.09), "III", "nh3n"),
    # IV: CODMn 8 (6 < x <= 10) and TP river 0.25 (0.2 < x <= 0.3)
    (dict(ph=7.2, do=5.5, codmn=8.0, nh3n=0.9, tp=0.25), "IV", "codmn,tp"),
    # V: DO 2.5 (>= 2, < 3)
    (dict(ph=7.0, do=2.5, codmn=5.0, nh3n=0.9, tp=0.15), "V", "do"),
    # worse than V: NH3-N 2.3 > 2.0
    (dict(ph=7.0, do=6.0, codmn=5.0, nh3n=2.3, tp=0.15), "劣V", "nh3n"),
    # a value equal to a limit is in that class: NH3-N 1.0, DO 5 and TP 0.2 are III
    (dict(ph=7.0, do=5.0, codmn=4.0, nh3n=1.0, tp=0.2), "III", "do,nh3n,tp"),
])
def test_every_class(items: dict, expected: str, deciding: str) -> None:
    result = one(**items)
    assert result["water_class"] == expected
    assert result["class_rank"] == class_rank(expected)
    assert result["deciding_items"] == deciding
    assert result["items_evaluated"] == len(items)


@pytest.mark.parametrize(("tp", "river", "lake"), [
    (0.015, "I", "II"),    # river I <= 0.02; lake 0.01 < x <= 0.025: II
    (0.03, "II", "III"),   # river <= 0.1: II; lake 0.025 < x <= 0.05: III
    (0.05, "II", "III"),   # lake limit III is exactly 0.05
    (0.15, "III", "V"),    # river <= 0.2: III; lake 0.1 < x <= 0.2: V
    (0.25, "IV", "劣V"),   # river <= 0.3: IV; lake > 0.2: worse than V
    (0.45, "劣V", "劣V"),  # river > 0.4
])
def test_tp_river_and_lake_tables(tp: float, river: str, lake: str) -> None:
    assert one("river", tp=tp)["water_class"] == river
    assert one("lake", tp=tp)["water_class"] == lake


@pytest.mark.parametrize(("ph", "expected"), [(5.9, "劣V"), (6.0, "I"), (7.0, "I"),
                                              (9.0, "I"), (9.1, "劣V"), (12.0, "劣V")])
def test_ph_outside_6_to_9_is_worse_than_v(ph: float, expected: str) -> None:
    result = one(ph=ph, do=8.0, nh3n=0.1)
    assert result["water_class"] == expected
    if expected == "劣V":
        assert result["deciding_items"] == "ph"


def test_excluded_items_do_not_decide() -> None:
    # Class II items, plus water at 35 ℃, TN 5.0 (lake V limit 2.0) and
    # fecal coliform 50,000 per L (V limit 40,000): still class II.
    base = dict(ph=7.5, do=6.8, codmn=3.0, nh3n=0.2, water_temp=35.0, tn=5.0,
                fecal_coliform=50000.0)
    lake = one("lake", tp=0.02, **base)  # lake TP 0.02 <= 0.025: II
    assert lake["water_class"] == "II"
    assert "tn" not in lake["deciding_items"] and "fecal" not in lake["deciding_items"]
    assert lake["tn_class"] == "劣V"  # reported separately for lakes and reservoirs
    assert lake["fecal_coliform_class"] == "劣V"
    river = one("river", tp=0.05, **base)
    assert river["water_class"] == "II"
    assert pd.isna(river["tn_class"])  # Table 1 has no TN limit for rivers
    # TN for a lake at 0.4 (<= 0.5) is class II, at 1.2 (<= 1.5) class IV
    assert one("lake", tn=0.4)["tn_class"] == "II"
    assert one("lake", tn=1.2)["tn_class"] == "IV"
    # only excluded items measured: no class at all
    only = one("lake", water_temp=20.0, tn=1.2, fecal_coliform=100.0)
    assert pd.isna(only["water_class"]) and only["items_evaluated"] == 0


@pytest.mark.parametrize(("item", "value", "expected"), [
    ("cod", 15.0, "I"),        # COD I and II are both 15: the better class
    ("cod", 16.0, "III"),      # <= 20
    ("bod5", 3.5, "III"),      # 3 < x <= 4
    ("mercury", 0.00008, "III"),  # 0.00005 < x <= 0.0001
    ("cadmium", 0.006, "V"),   # 0.005 < x <= 0.01
    ("phenol", 0.004, "III"),  # 0.002 < x <= 0.005
    ("copper", 0.5, "II"),     # 0.01 < x <= 1.0
    ("sulfide", 1.2, "劣V"),   # > 1.0
    ("fluoride", 1.2, "IV"),   # 1.0 < x <= 1.5
])
def test_laboratory_items(item: str, value: float, expected: str) -> None:
    assert one(**{item: value})["water_class"] == expected


def test_missing_values_are_not_counted() -> None:
    result = one(ph=7.0, do=math.nan, nh3n=0.6, tp=math.nan)
    assert result["water_class"] == "III" and result["items_evaluated"] == 2
    nothing = one(ph=math.nan)
    assert pd.isna(nothing["water_class"]) and pd.isna(nothing["class_rank"])


def _readings(section: str, body: str, values: list[dict]) -> pd.DataFrame:
    rows = []
    for hour, items in enumerate(values):
        row = dict.fromkeys(READINGS_COLUMNS)
        row.update({c: math.nan for c in ITEMS})
        row.update(section_code=section, section_name=section, water_body=body,
                   registered=True, province_code="320000", city_code="320500",
                   water_name="x", sample_kind="auto", source="test",
                   ts=datetime(2026, 10, 1 + hour, 8, tzinfo=BEIJING), **items)
        rows.append(row)
    return pd.DataFrame(rows)


def test_month_class_is_the_class_of_the_means() -> None:
    # NH3-N readings 0.9, 0.9 (III) and 1.6 (V): the month's mean is
    # (0.9 + 0.9 + 1.6) / 3 = 1.133 -> IV, neither the worst reading nor the most common.
    readings = _readings("YW001", "river", [dict(nh3n=0.9, ph=7.0), dict(nh3n=0.9, ph=7.2),
                                            dict(nh3n=1.6, ph=7.4)])
    month = assess_period(readings).iloc[0]
    assert month["nh3n"] == pytest.approx(1.1333333)
    assert month["water_class"] == "IV" and month["deciding_items"] == "nh3n"
    assert month["n_readings"] == 3 and month["n_days"] == 3
    # YW001's target is III (reference/water/sections.csv): missed
    assert month["target_class"] == "III" and not month["compliant"]
    assert month["class_label"] == "轻度污染"


def test_month_meets_target_and_unregistered_has_no_target() -> None:
    readings = pd.concat([
        _readings("YW001", "river", [dict(nh3n=0.4, tp=0.08)]),     # II vs target III
        _readings("somewhere", "river", [dict(nh3n=0.4, tp=0.08)]),
    ], ignore_index=True)
    readings.loc[1, "registered"] = False
    months = assess_period(readings).set_index("section_code")
    assert months.loc["YW001", "water_class"] == "II" and months.loc["YW001", "compliant"]
    assert pd.isna(months.loc["somewhere", "target_class"])
    assert pd.isna(months.loc["somewhere", "compliant"])


def test_month_from_its_days_sums_is_the_month_of_its_readings() -> None:
    # Three days, two sources, a value missing on one day and a section name
    # that changes: the month assessed from the days' sums must be the month
    # assessed from every reading at once.
    readings = pd.concat([
        _readings("YW001", "river", [dict(nh3n=0.9, ph=7.0, tp=0.11), dict(nh3n=0.4, ph=7.2),
                                     dict(nh3n=1.6, ph=7.4, tp=0.19)]),
        _readings("YW016", "lake", [dict(nh3n=0.2, tp=0.05, chla=0.01), dict(tp=0.07)]),
    ], ignore_index=True)
    readings.loc[1, "source"] = "lab"
    readings.loc[2, "section_name"] = "renamed"
    days = readings["ts"].dt.date
    parts = pd.concat([period_sums(readings[days == d]) for d in sorted(set(days))],
                      ignore_index=True)
    by_days = assess_sums(parts).set_index("section_code")
    at_once = assess_period(readings).set_index("section_code")
    for column in by_days.columns:
        if column in ITEMS or column == "tli":
            assert by_days[column].to_numpy() == pytest.approx(
                at_once[column].to_numpy(), rel=1e-15, nan_ok=True), column
        else:
            assert by_days[column].equals(at_once[column]), column
    assert by_days.loc["YW001", "sources"] == "lab,test"
    assert by_days.loc["YW001", "section_name"] == "renamed"
    assert by_days.loc["YW001", "n_days"] == 3 and by_days.loc["YW016", "n_readings"] == 2
