"""HJ 633-2012 / HJ 633-2026 scoring, against values worked by hand from the standards.

IAQI = (IH - IL) / (BPH - BPL) * (C - BPL) + IL, rounded up (HJ 633).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from envmon.air import standards
from envmon.air.aqi import category, daily_aqi, gbt8170_round, hourly_aqi, iaqi

V12 = "HJ 633-2012"
V26 = "HJ 633-2026"

# ------------------------------------------------------------ reference data


def test_breakpoint_tables_as_published():
    assert list(standards.breakpoints(V12, "so2_1h")[0]) == [0, 150, 500, 650, 800]
    assert list(standards.breakpoints(V12, "so2_1h")[1]) == [0, 50, 100, 150, 200]
    assert list(standards.breakpoints(V26, "o3_8h")[0]) == [0, 100, 160, 215, 265, 800]
    assert list(standards.breakpoints(V26, "o3_8h")[1]) == [0, 50, 100, 150, 200, 300]
    assert list(standards.breakpoints(V12, "pm25_24h")[0]) == [0, 35, 75, 115, 150, 250, 350, 500]
    assert list(standards.breakpoints(V26, "pm25_24h")[0]) == [0, 35, 60, 115, 150, 250, 350, 500]
    assert list(standards.breakpoints(V12, "pm10_24h")[0]) == [0, 50, 150, 250, 350, 420, 500, 600]
    assert list(standards.breakpoints(V26, "pm10_24h")[0]) == [0, 50, 120, 250, 350, 420, 500, 600]
    assert list(standards.breakpoints(V26, "co_1h")[0]) == [0, 5, 10, 35, 60, 90, 120, 150]


def test_versions_share_all_tables_but_pm():
    keys = ["so2_24h", "so2_1h", "no2_24h", "no2_1h", "co_24h", "co_1h", "o3_1h", "o3_8h"]
    for key in keys:
        old, new = standards.breakpoints(V12, key), standards.breakpoints(V26, key)
        np.testing.assert_array_equal(old[0], new[0])
        np.testing.assert_array_equal(old[1], new[1])
    for key in ["pm10_24h", "pm25_24h"]:
        assert not np.array_equal(standards.breakpoints(V12, key)[0],
                                  standards.breakpoints(V26, key)[0])


def test_version_by_natural_day():
    assert list(standards.aqi_version_for(["2026-02-28", "2026-03-01", "2015-06-01"])) == [
        V12, V26, V12]
    # The hour ending 2026-03-01 00:00 is the last hour of 2026-02-28.
    ts = pd.Series(pd.to_datetime(["2026-03-01 00:00", "2026-03-01 01:00"]).tz_localize(
        "Asia/Shanghai"))
    days = standards.natural_day(ts)
    assert [str(d) for d in days] == ["2026-02-28", "2026-03-01"]


def test_gb3095_limits_by_day():
    assert standards.limit("pm25", "24h", date(2026, 2, 28)) == 75
    assert standards.limit("pm25", "24h", date(2026, 3, 1)) == 60  # transition stage
    assert standards.limit("pm10", "24h", "2030-12-31") == 120
    assert standards.limit("pm25", "24h", "2031-01-01") == 50
    assert standards.limit("pm25", "annual", "2031-01-01") == 25
    assert standards.limit("so2", "1h", "2026-06-01") == 500  # SO2 tightens only in 2031
    assert standards.limit("so2", "1h", "2031-06-01") == 150
    assert standards.limit("o3", "8h", "2020-01-01") == 160
    assert standards.limit("o3", "8h", "2035-01-01") == 160
    assert standards.limit("co", "24h", "2035-01-01") == 4


def test_validity_minimums():
    assert standards.validity_minimums() == {
        "daily_min_hours": 20, "o3_8h_min_hours": 6, "o3_8h_min_windows": 14,
        "annual_min_days": 324, "month_min_days": 27, "february_min_days": 25}


# ------------------------------------------------------------------- iaqi


def test_iaqi_pm25_80_both_versions():
    # 2012: 75..115 -> 100..150: 50/40*(80-75)+100 = 106.25 -> 107
    assert iaqi([80], V12, "pm25_24h")[0] == 107
    # 2026: 60..115 -> 100..150: 50/55*(80-60)+100 = 118.18 -> 119
    assert iaqi([80], V26, "pm25_24h")[0] == 119


def test_iaqi_pm10_130_both_versions():
    # 2012: 50..150 -> 50..100: 50/100*80+50 = 90 exactly
    assert iaqi([130], V12, "pm10_24h")[0] == 90
    # 2026: 120..250 -> 100..150: 50/130*10+100 = 103.85 -> 104
    assert iaqi([130], V26, "pm10_24h")[0] == 104


def test_iaqi_breakpoints_and_edges():
    out = iaqi([0, 35, 75, 500, 600, np.nan, -1], V12, "pm25_24h")
    np.testing.assert_array_equal(out, [0, 50, 100, 500, 500, np.nan, np.nan])
    # 2026: 75 is inside 60..115: 50/55*15+100 = 113.64 -> 114
    assert iaqi([75], V26, "pm25_24h")[0] == 114


def test_iaqi_truncated_tables_give_nan_above_top():
    np.testing.assert_array_equal(iaqi([800, 801], V12, "so2_1h"), [200, np.nan])
    np.testing.assert_array_equal(iaqi([800, 801], V26, "o3_8h"), [300, np.nan])


def test_iaqi_rounds_up_without_float_noise():
    # CO 24h 2.2: 2..4 -> 50..100: 50/2*0.2+50 = 55 exactly; the float formula
    # gives 55.000000000000007, which a bare ceil would turn into 56.
    assert iaqi([2.2], V12, "co_24h")[0] == 55
    # SO2 24h 51: 50..150 -> 50..100: 50/100*1+50 = 50.5 -> 51
    assert iaqi([51], V12, "so2_24h")[0] == 51


def test_gbt8170_half_to_even():
    np.testing.assert_array_equal(gbt8170_round([48.5, 49.5, 48.51, 120.5, 121.5], 0),
                                  [48, 50, 49, 120, 122])
    np.testing.assert_array_equal(gbt8170_round([5.25, 2.35, 2.25], 1), [5.2, 2.4, 2.2])


# ----------------------------------------------------------------- hourly

# Default hour: every IAQI small, the same on both versions' 1h / PM tables:
#   PM2.5 20 -> 50/35*20 = 28.6 -> 29; PM10 40 -> 40; SO2 10 -> 50/150*10 = 3.3 -> 4;
#   NO2 20 -> 10; CO 0.5 -> 5; O3 50 -> 50/160*50 = 15.6 -> 16.   AQI 40 (PM10).
_HOUR = dict(pm25=20.0, pm10=40.0, so2=10.0, no2=20.0, o3=50.0, co=0.5,
             pm25_24h=np.nan, pm10_24h=np.nan, so2_24h=np.nan)
BEFORE = "2026-02-28 12:00"  # HJ 633-2012
AFTER = "2026-03-01 12:00"  # HJ 633-2026


def hours(*rows: tuple[str, dict]) -> pd.DataFrame:
    records = [{"ts": pd.Timestamp(ts, tz="Asia/Shanghai"), **{**_HOUR, **over}}
               for ts, over in rows]
    return pd.DataFrame(records)


def scored(ts: str, *, basis: str = "hourly", **over) -> dict:
    return hourly_aqi(hours((ts, over)), pm_hourly_basis=basis).iloc[0].to_dict()


def test_hourly_output_contract():
    df = hours((BEFORE, {}), (AFTER, {}))
    df.index = [10, 20]
    out = hourly_aqi(df)
    assert list(out.index) == [10, 20]
    assert list(out.columns) == ["aqi", "primary_pollutant", "aqi_standard", "aqi_complete"]
    assert str(out["aqi"].dtype) == "Int64"
    assert out["aqi_complete"].dtype == bool


def test_hourly_boundary_hour_ending_midnight_is_previous_day():
    df = hours(("2026-03-01 00:00", {"pm25": 80.0}), ("2026-03-01 01:00", {"pm25": 80.0}))
    out = hourly_aqi(df)
    assert list(out["aqi_standard"]) == [V12, V26]
    assert list(out["aqi"]) == [107, 119]  # see test_iaqi_pm25_80_both_versions
    assert list(out["primary_pollutant"]) == ["PM2.5", "PM2.5"]
    assert list(out["aqi_complete"]) == [True, True]


def test_hourly_utc_timestamps_are_read_in_beijing_time():
    # 2026-02-28 16:00 UTC = 2026-03-01 00:00 Beijing -> natural day 2026-02-28.
    df = hours((BEFORE, {"pm25": 80.0}))
    df["ts"] = pd.Series([pd.Timestamp("2026-02-28 16:00", tz="UTC")])
    assert hourly_aqi(df).iloc[0]["aqi_standard"] == V12


def test_hourly_aqi_50_has_no_primary_pollutant():
    r = scored(AFTER)
    assert r["aqi"] == 40 and pd.isna(r["primary_pollutant"])
    r = scored(AFTER, pm10=50.0)  # IAQI exactly 50
    assert r["aqi"] == 50 and pd.isna(r["primary_pollutant"])
    r = scored(AFTER, pm10=51.0)  # 50/100*1+50 = 50.5 -> 51
    assert r["aqi"] == 51 and r["primary_pollutant"] == "PM10"


def test_hourly_primary_pollutant_ties():
    # 2012: PM2.5 75 -> 100, PM10 150 -> 100, NO2 1h 200 -> 100.
    r = scored(BEFORE, pm25=75.0, pm10=150.0, no2=200.0)
    assert r["aqi"] == 100 and r["primary_pollutant"] == "PM2.5;PM10;NO2"
    # 2026: PM2.5 60 -> 100, PM10 120 -> 100.
    r = scored(AFTER, pm25=60.0, pm10=120.0)
    assert r["aqi"] == 100 and r["primary_pollutant"] == "PM2.5;PM10"


def test_hourly_gbt8170_rounding_2026_only():
    # 2026: 48.5 -> 48 (even): 35..60 -> 50..100: 50/25*13+50 = 76
    assert scored(AFTER, pm25=48.5)["aqi"] == 76
    # 2026: 49.5 -> 50 (even): 50/25*15+50 = 80
    assert scored(AFTER, pm25=49.5)["aqi"] == 80
    # 2012 scores unrounded: 35..75: 50/40*13.5+50 = 66.875 -> 67
    assert scored(BEFORE, pm25=48.5)["aqi"] == 67
    # CO 1h 5.25: 2026 -> 5.2: 5..10 -> 50..100: 50/5*0.2+50 = 52
    r = scored(AFTER, co=5.25)
    assert r["aqi"] == 52 and r["primary_pollutant"] == "CO"
    # 2012: 50/5*0.25+50 = 52.5 -> 53
    assert scored(BEFORE, co=5.25)["aqi"] == 53


def test_hourly_so2_above_800_2012_uses_24h():
    # SO2 24h 200: 150..475 -> 100..150: 50/325*50+100 = 107.69 -> 108
    r = scored(BEFORE, so2=900.0, so2_24h=200.0)
    assert (r["aqi"], r["primary_pollutant"], r["aqi_complete"]) == (108, "SO2", True)
    # No 24h value: no SO2 IAQI, and no AQI either - the max of the others
    # (40) would call an hour with SO2 above 800 µg/m³ "excellent".
    r = scored(BEFORE, so2=900.0)
    assert pd.isna(r["aqi"]) and not r["aqi_complete"]
    assert pd.isna(r["primary_pollutant"])
    # 800 itself is still on the 1h table: IAQI 200.
    assert scored(BEFORE, so2=800.0, so2_24h=10.0)["aqi"] == 200


def test_hourly_so2_above_800_2026_is_200():
    r = scored(AFTER, so2=900.0)
    assert (r["aqi"], r["primary_pollutant"], r["aqi_complete"]) == (200, "SO2", True)
    assert scored(AFTER, so2=800.4)["aqi"] == 200  # rounds to 800, top of the table


def test_hourly_pm_basis_option_2012_only():
    # moving_24h: PM2.5 24h 40 -> 35..75: 50/40*5+50 = 56.25 -> 57; PM10 24h 40 -> 40
    r = scored(BEFORE, basis="moving_24h", pm25=80.0, pm25_24h=40.0, pm10_24h=40.0)
    assert (r["aqi"], r["primary_pollutant"], r["aqi_complete"]) == (57, "PM2.5", True)
    assert scored(BEFORE, pm25=80.0, pm25_24h=40.0)["aqi"] == 107  # default: hourly value
    # HJ 633-2026 always scores the hourly value.
    assert scored(AFTER, basis="moving_24h", pm25=80.0, pm25_24h=40.0)["aqi"] == 119
    with pytest.raises(ValueError):
        scored(BEFORE, basis="daily")


def test_hourly_missing_indicator_2026_rule():
    # PM2.5 missing, PM10 300: 250..350 -> 150..200: 50/100*50+150 = 175 > 100: published.
    r = scored(AFTER, pm25=np.nan, pm10=300.0)
    assert (r["aqi"], r["primary_pollutant"], r["aqi_complete"]) == (175, "PM10", False)
    # PM2.5 missing, others give 40 <= 100: not published.
    r = scored(AFTER, pm25=np.nan)
    assert pd.isna(r["aqi"]) and pd.isna(r["primary_pollutant"]) and not r["aqi_complete"]
    # Exactly 100 (PM10 120) is not "> 100".
    assert pd.isna(scored(AFTER, pm25=np.nan, pm10=120.0)["aqi"])
    # PM10 121: 50/130*1+100 = 100.38 -> 101: published.
    assert scored(AFTER, pm25=np.nan, pm10=121.0)["aqi"] == 101
    # A negative concentration is invalid, i.e. missing.
    assert pd.isna(scored(AFTER, pm25=-5.0)["aqi"])


def test_hourly_missing_indicator_2012_takes_max_of_rest():
    r = scored(BEFORE, pm25=np.nan)
    assert (r["aqi"], r["aqi_complete"]) == (40, False)


def test_hourly_all_missing_and_clipping():
    empty = dict(pm25=np.nan, pm10=np.nan, so2=np.nan, no2=np.nan, o3=np.nan, co=np.nan)
    for ts, version in ((BEFORE, V12), (AFTER, V26)):
        r = scored(ts, **empty)
        assert pd.isna(r["aqi"]) and not r["aqi_complete"] and r["aqi_standard"] == version
    zeros = dict(pm25=0.0, pm10=0.0, so2=0.0, no2=0.0, o3=0.0, co=0.0)
    assert scored(BEFORE, **zeros)["aqi"] == 0
    assert scored(AFTER, **zeros)["aqi"] == 1  # HJ 633-2026: AQI range 1..500


def test_hourly_undated_rows_are_unscored():
    df = hours((AFTER, {}))
    df["ts"] = pd.Series([pd.NaT], dtype="datetime64[us, Asia/Shanghai]")
    r = hourly_aqi(df).iloc[0]
    assert pd.isna(r["aqi"]) and pd.isna(r["aqi_standard"]) and not r["aqi_complete"]


# ------------------------------------------------------------------ daily

# Default day, both versions: PM2.5 20 -> 29; PM10 40 -> 40; SO2 24h 10 -> 10;
# NO2 24h 20 -> 50/40*20 = 25; CO 24h 0.5 -> 12.5 -> 13; O3 8h 60 -> 30;
# O3 1h 80 -> 25.   AQI 40 (PM10).
_DAY = dict(pm25=20.0, pm10=40.0, so2=10.0, no2=20.0, co=0.5, o3_8h=60.0, o3_1h=80.0)


def day(d: str, **over) -> dict:
    frame = pd.DataFrame([{"date": date.fromisoformat(d), **{**_DAY, **over}}])
    return daily_aqi(frame).iloc[0].to_dict()


def test_daily_pm25_80_boundary_dates():
    r12, r26 = day("2026-02-28", pm25=80.0), day("2026-03-01", pm25=80.0)
    assert (r12["aqi"], r12["aqi_standard"], r12["primary_pollutant"]) == (107, V12, "PM2.5")
    assert (r26["aqi"], r26["aqi_standard"], r26["primary_pollutant"]) == (119, V26, "PM2.5")
    assert r12["aqi_complete"] and r26["aqi_complete"]


def test_daily_o3_1h_counts_in_2012_only():
    # O3 1h 250: 200..300 -> 100..150: 50/100*50+100 = 125
    r = day("2026-02-28", o3_1h=250.0)
    assert (r["aqi"], r["primary_pollutant"]) == (125, "O3_1h")
    r = day("2026-03-01", o3_1h=250.0)
    assert (r["aqi"], r["aqi_complete"]) == (40, True)
    # 2012 has seven indicators: no O3 1h -> incomplete; 2026 does not need it.
    assert not day("2026-02-28", o3_1h=np.nan)["aqi_complete"]
    frame = pd.DataFrame([{"date": date(2026, 3, 1), **_DAY}]).drop(columns="o3_1h")
    assert daily_aqi(frame).iloc[0]["aqi_complete"]


def test_daily_o3_8h_regular():
    # O3 8h 200: 160..215 -> 100..150: 50/55*40+100 = 136.36 -> 137 (beats O3 1h 80 -> 25)
    for d in ("2026-02-28", "2026-03-01"):
        r = day(d, o3_8h=200.0)
        assert (r["aqi"], r["primary_pollutant"]) == (137, "O3_8h")


def test_daily_o3_8h_above_800():
    # 2012: no 8h IAQI; O3 is reported by the 1h IAQI: 900 -> 800..1000 ->
    # 300..400: 100/200*100+300 = 350.
    r = day("2026-02-28", o3_8h=850.0, o3_1h=900.0)
    assert (r["aqi"], r["primary_pollutant"], r["aqi_complete"]) == (350, "O3_1h", True)
    # ... and without a 1h value O3 is unknown.
    r = day("2026-02-28", o3_8h=850.0, o3_1h=np.nan)
    assert (r["aqi"], r["aqi_complete"]) == (40, False)
    # 2026: IAQI 300.
    r = day("2026-03-01", o3_8h=850.0)
    assert (r["aqi"], r["primary_pollutant"], r["aqi_complete"]) == (300, "O3_8h", True)


def test_daily_gbt8170_rounding():
    # PM10 24h 2026: 120.5 -> 120 -> 100 (no primary tie issue: only PM10 at 100)
    assert day("2026-03-01", pm10=120.5)["aqi"] == 100
    # 121.5 -> 122: 120..250 -> 100..150: 50/130*2+100 = 100.77 -> 101
    assert day("2026-03-01", pm10=121.5)["aqi"] == 101
    # 2012 unrounded: 50..150: 50/100*70.5+50 = 85.25 -> 86
    assert day("2026-02-28", pm10=120.5)["aqi"] == 86
    # CO 24h 2026: 2.25 -> 2.2: 2..4 -> 50..100: 50/2*0.2+50 = 55; 2.35 -> 2.4: 60
    assert day("2026-03-01", co=2.25)["aqi"] == 55
    assert day("2026-03-01", co=2.35)["aqi"] == 60


def test_daily_missing_indicator_2026_rule():
    # SO2 missing, PM2.5 150: 115..150 -> 150..200 -> 200 > 100: published.
    r = day("2026-03-01", so2=np.nan, pm25=150.0)
    assert (r["aqi"], r["primary_pollutant"], r["aqi_complete"]) == (200, "PM2.5", False)
    r = day("2026-03-01", so2=np.nan)
    assert pd.isna(r["aqi"]) and not r["aqi_complete"]
    r = day("2026-02-28", so2=np.nan)
    assert (r["aqi"], r["aqi_complete"]) == (40, False)


# --------------------------------------------------------------- category


def test_category_bounds():
    aqi = pd.Series([0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500, None],
                    dtype="Int64")
    level, zh, en = category(aqi)
    assert list(level[:-1]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    assert pd.isna(level[-1]) and pd.isna(zh[-1]) and pd.isna(en[-1])
    assert list(zh[:-1:2]) == ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"]
    assert list(en[1::2]) == ["excellent", "good", "lightly polluted", "moderately polluted",
                              "heavily polluted", "severely polluted"]
