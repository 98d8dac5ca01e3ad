"""Jiangsu upstream-downstream compensation against hand-worked amounts.

amount = (measured - target) mg/L [= g/m³] × monthly flow m³ ÷ 10⁶ [g/t] × price CNY/t
Target concentrations are the target class's GB 3838-2002 Table 1 limits;
prices are the Taihu pilot's (CODMn 15,000, NH3-N 100,000, TP 100,000 CNY/t).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from envmon.core.errors import ConfigError
from envmon.water.compensation import compensate, load_scheme, month_flow, seconds_in_month

PRICES = {"codmn": {"price_cny_per_t": 15000}, "nh3n": {"price_cny_per_t": 100000},
          "tp": {"price_cny_per_t": 100000}}
# October: 31 days × 86,400 s = 2,678,400 s; 10 m³/s -> 26,784,000 m³.
OCTOBER_10_M3S = 26_784_000.0


def scheme(**overrides):
    cfg = {"scheme": "test", "two_way": False, "factors": PRICES, "sections": ["YW001"],
           "flows": {"YW001": {"default": 10.0}}, "flow_file": None, **overrides}
    return load_scheme(cfg)


def monthly(**items) -> pd.DataFrame:
    # YW001 is a river section with target III (reference/water/sections.csv):
    # CODMn 6, NH3-N 1.0, TP (river) 0.2.
    return pd.DataFrame([{"section_code": "YW001", "water_class": "IV", "compliant": False,
                          **items}])


def test_one_way_counts_only_factors_above_target() -> None:
    summary, factors = compensate(monthly(codmn=5.0, nh3n=1.2, tp=0.25), "2026-10", scheme())
    by = factors.set_index("factor")
    # TP: (0.25 - 0.2) × 26,784,000 = 1,339,200 g = 1.3392 t × 100,000 = 133,920 CNY
    assert by.loc["tp", "load_t"] == pytest.approx(1.3392)
    assert by.loc["tp", "amount_cny"] == pytest.approx(133_920.0)
    # NH3-N: (1.2 - 1.0) × 26,784,000 = 5,356,800 g = 5.3568 t × 100,000 = 535,680 CNY
    assert by.loc["nh3n", "amount_cny"] == pytest.approx(535_680.0)
    # CODMn 5 < 6: not counted one-way
    assert by.loc["codmn", "amount_cny"] == 0.0 and not by.loc["codmn", "counted"]
    row = summary.iloc[0]
    assert row["amount_cny"] == pytest.approx(669_600.0)
    assert (row["payer_code"], row["payee_code"]) == ("320000", "310000")  # Jiangsu -> Shanghai
    assert (row["payer_name"], row["payee_name"]) == ("Jiangsu", "Shanghai")
    assert row["flow_m3"] == pytest.approx(OCTOBER_10_M3S) and row["factors_complete"]


def test_two_way_nets_factors_and_can_reverse_the_payment() -> None:
    summary, factors = compensate(monthly(codmn=5.0, nh3n=1.2, tp=0.25), "2026-10",
                                  scheme(two_way=True))
    # CODMn: (5 - 6) × 26,784,000 g = -26.784 t × 15,000 = -401,760 CNY
    assert factors.set_index("factor").loc["codmn", "amount_cny"] == pytest.approx(-401_760.0)
    assert summary.iloc[0]["amount_cny"] == pytest.approx(669_600.0 - 401_760.0)
    assert summary.iloc[0]["payer_code"] == "320000"
    # A clean month: every factor below target, the downstream area pays.
    # CODMn (3-6)·26.784·15,000 = -1,205,280; NH3-N (0.5-1)·26.784·100,000 = -1,339,200;
    # TP (0.1-0.2)·26.784·100,000 = -267,840; total -2,812,320 CNY.
    clean, _ = compensate(monthly(codmn=3.0, nh3n=0.5, tp=0.1, compliant=True), "2026-10",
                          scheme(two_way=True))
    row = clean.iloc[0]
    assert row["amount_cny"] == pytest.approx(2_812_320.0)
    assert (row["payer_code"], row["payee_code"]) == ("310000", "320000")


def test_meeting_target_one_way_owes_nothing() -> None:
    summary, _ = compensate(monthly(codmn=3.0, nh3n=0.5, tp=0.1, compliant=True), "2026-10",
                            scheme())
    row = summary.iloc[0]
    assert row["amount_cny"] == 0.0 and pd.isna(row["payer_code"])


def test_flow_sources_in_order(tmp_path: Path) -> None:
    flows = tmp_path / "flows.csv"
    flows.write_text("section_code,month,flow_m3,flow_m3s\nYW001,2026-10,5000000,\n"
                     "YW001,2026-11,,20\n", encoding="utf-8")
    with_file = scheme(flow_file=str(flows), flows={"YW001": {"default": 10.0,
                                                              "2026-12": 30.0}})
    assert month_flow(with_file, "YW001", "2026-10", 99.0)[1:] == (5_000_000.0, "flow file")
    # 20 m³/s over November's 30 days = 20 × 2,592,000 = 51,840,000 m³
    assert month_flow(with_file, "YW001", "2026-11", 99.0)[1] == pytest.approx(51_840_000.0)
    assert month_flow(with_file, "YW001", "2026-12", 99.0)[2] == "config 2026-12"
    assert month_flow(with_file, "YW001", "2027-01", 99.0)[2] == "config default"
    bare = scheme(flows={})
    assert month_flow(bare, "YW001", "2026-10", 99.0)[2] == "registry mean flow"
    assert month_flow(bare, "YW001", "2026-10", None) == (None, None, "no flow")


def test_no_flow_no_amount() -> None:
    summary, factors = compensate(monthly(codmn=5.0, nh3n=1.2, tp=0.25), "2026-10",
                                  scheme(sections=["YW003"], flows={}))  # a lake, no flow
    assert summary.empty  # YW003 has no reading in this month's frame
    lake = pd.DataFrame([{"section_code": "YW003", "codmn": 7.0, "nh3n": 1.2, "tp": 0.08,
                          "water_class": "IV", "compliant": False}])
    summary, factors = compensate(lake, "2026-10", scheme(sections=["YW003"], flows={}))
    row = summary.iloc[0]
    assert pd.isna(row["amount_cny"]) and row["flow_source"] == "no flow"
    assert not row["factors_complete"] and factors["amount_cny"].isna().all()
    # the lake TP target (III) is 0.05, not the river's 0.2
    assert factors.set_index("factor").loc["tp", "target_mg_l"] == 0.05


def test_february_has_28_days() -> None:
    assert seconds_in_month("2027-02") == 28 * 86400
    assert seconds_in_month("2028-02") == 29 * 86400


@pytest.mark.parametrize(("override", "message"), [
    ({"factors": {"water_temp": {"price_cny_per_t": 1}}}, "no GB 3838 upper limit"),
    ({"factors": {"tp": {"price_cny_per_t": -5}}}, "price_cny_per_t"),
    ({"sections": ["NOPE"]}, "not in the registry"),
    ({"flows": {"YW001": {"default": "lots"}}}, "not a flow"),
])
def test_bad_configuration_is_a_clear_error(override: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        scheme(**override)


def test_repository_configuration_loads() -> None:
    loaded = load_scheme()
    assert loaded.prices == {"codmn": 15000.0, "nh3n": 100000.0, "tp": 100000.0}
    assert not loaded.two_way and "YW001" in loaded.sections
