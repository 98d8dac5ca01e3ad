"""HJ 663 daily validity, O3 8h windows, daily AQI and city means, worked by hand.

Hour slot h = the hour ending h:00 of the natural day; slot 24 is the hour
ending 00:00 of the next calendar day (HJ 663 natural day 00:00-24:00).
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest

from envmon.air.daily import (
    DAILY_CITY_COLUMNS,
    DAILY_STATION_COLUMNS,
    daily_city,
    daily_station,
)

TZ = "Asia/Shanghai"
POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "co")
# Small values whose daily IAQIs are the same in both versions:
# PM2.5 20 -> 29, PM10 40 -> 40, SO2 10 -> 10, NO2 20 -> 25, CO 0.5 -> 13,
# O3 1h 50 -> 16, O3 8h 50 -> 25.
DEFAULTS = dict(pm25=20.0, pm10=40.0, so2=10.0, no2=20.0, o3=50.0, co=0.5)


def station_day(station: str, day: str, slots, **values) -> pd.DataFrame:
    """Rows for the given hour slots only: absent slots have no row at all."""
    slots = list(slots)
    start = pd.Timestamp(day, tz=TZ)
    data = {
        "station_code": [station] * len(slots),
        "ts": [start + pd.Timedelta(hours=h) for h in slots],
        "date": [date.fromisoformat(day)] * len(slots),
    }
    for p in POLLUTANTS:
        v = values.get(p, DEFAULTS[p])
        data[p] = list(v) if np.ndim(v) else [v] * len(slots)
    return pd.DataFrame(data)


def one(frame: pd.DataFrame, station: str, day: str) -> dict:
    rows = frame[(frame["station_code"] == station) & (frame["date"] == date.fromisoformat(day))]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


ALL = range(1, 25)


# ------------------------------------------------------------- daily means


def test_daily_mean_needs_20_hours_absent_rows():
    hourly = pd.concat([
        station_day("A", "2026-03-01", range(1, 21), pm25=range(1, 21)),  # 20 rows
        station_day("B", "2026-03-01", range(1, 20), pm25=range(1, 20)),  # 19 rows
    ])
    out = daily_station(hourly)
    assert list(out.columns) == list(DAILY_STATION_COLUMNS)
    a, b = one(out, "A", "2026-03-01"), one(out, "B", "2026-03-01")
    # A: (1 + ... + 20) / 20 = 10.5
    assert (a["pm25"], a["pm25_hours"], a["pm25_valid"]) == (10.5, 20, True)
    assert pd.isna(b["pm25"]) and (b["pm25_hours"], b["pm25_valid"]) == (19, False)


def test_daily_mean_counts_nan_values_as_missing():
    pm25 = [10.0] * 24
    for h in (3, 7, 11, 15, 19):
        pm25[h - 1] = np.nan
    r = one(daily_station(station_day("C", "2026-03-01", ALL, pm25=pm25)), "C", "2026-03-01")
    assert pd.isna(r["pm25"]) and (r["pm25_hours"], r["pm25_valid"]) == (19, False)
    assert (r["pm10"], r["pm10_hours"], r["pm10_valid"]) == (40.0, 24, True)


def test_hour_ending_midnight_belongs_to_the_day():
    pm25 = [10.0] * 23 + [34.0]  # slot 24 = 2026-03-02 00:00
    hourly = pd.concat([
        station_day("A", "2026-03-01", ALL, pm25=pm25),
        station_day("A", "2026-03-02", [1], pm25=1000.0),  # 2026-03-02 01:00
    ])
    out = daily_station(hourly)
    assert len(out) == 2
    # (23 * 10 + 34) / 24 = 11
    assert one(out, "A", "2026-03-01")["pm25"] == 11.0
    nxt = one(out, "A", "2026-03-02")
    assert pd.isna(nxt["pm25"]) and nxt["pm25_hours"] == 1


def test_date_must_be_the_natural_day_of_ts():
    hourly = station_day("A", "2026-03-01", ALL)
    hourly.loc[23, "date"] = date(2026, 3, 2)  # ts 2026-03-02 00:00 belongs to 03-01
    with pytest.raises(ValueError, match="natural day"):
        daily_station(hourly)


# ------------------------------------------------------------------ ozone


def test_o3_8h_windows_end_0800_to_2400_within_the_day():
    hourly = pd.concat([
        station_day("A", "2026-03-01", ALL, o3=range(1, 25)),
        station_day("A", "2026-03-02", range(1, 9), o3=1000.0),
    ])
    out = daily_station(hourly)
    r = one(out, "A", "2026-03-01")
    # Window ending t (t = 8..24) averages slots t-7..t: mean t - 3.5; the last
    # window (ending 24:00, including the hour ending 2026-03-02 00:00) is 20.5.
    # The next day's 1000s never enter this day's windows.
    assert (r["o3_8h"], r["o3_8h_windows"], r["o3_8h_valid"]) == (20.5, 17, True)
    assert (r["o3_1h"], r["o3_1h_hours"], r["o3_1h_valid"]) == (24.0, 24, True)
    # Next day, slots 1..8: windows ending 08:00, 09:00, 10:00 have 8, 7, 6 hours;
    # 1000 > 160 counts with fewer than 14 windows.
    r = one(out, "A", "2026-03-02")
    assert (r["o3_8h"], r["o3_8h_windows"], r["o3_8h_valid"]) == (1000.0, 3, True)
    assert pd.isna(r["o3_1h"]) and not r["o3_1h_valid"]  # 8 hours < 20


def test_o3_8h_window_needs_6_hours():
    out = daily_station(pd.concat([
        station_day("SIX", "2026-03-01", range(1, 7), o3=200.0),
        station_day("FIVE", "2026-03-01", range(1, 6), o3=200.0),
        station_day("LOW", "2026-03-01", range(1, 7), o3=100.0),
    ]))
    # Window ending 08:00 has slots 1..6 valid (6 hours): 200; ending 09:00 has 5.
    r = one(out, "SIX", "2026-03-01")
    assert (r["o3_8h"], r["o3_8h_windows"], r["o3_8h_valid"]) == (200.0, 1, True)
    r = one(out, "FIVE", "2026-03-01")
    assert pd.isna(r["o3_8h"]) and (r["o3_8h_windows"], r["o3_8h_valid"]) == (0, False)
    # One window of 100 <= 160: too few windows, not an exceedance.
    r = one(out, "LOW", "2026-03-01")
    assert pd.isna(r["o3_8h"]) and (r["o3_8h_windows"], r["o3_8h_valid"]) == (1, False)


def test_o3_8h_14_windows_or_exceedance():
    # O3 present in slots 1..last: windows ending 8..last+2 have >= 6 hours,
    # i.e. last - 5 windows: last 19 -> 14, last 18 -> 13.
    out = daily_station(pd.concat([
        station_day("W14", "2026-03-01", range(1, 20), o3=100.0),
        station_day("W13", "2026-03-01", range(1, 19), o3=100.0),
        station_day("W13HI", "2026-03-01", range(1, 19), o3=180.0),
        station_day("W13AT", "2026-03-01", range(1, 19), o3=160.0),
    ]))
    r = one(out, "W14", "2026-03-01")
    assert (r["o3_8h"], r["o3_8h_windows"], r["o3_8h_valid"]) == (100.0, 14, True)
    r = one(out, "W13", "2026-03-01")
    assert pd.isna(r["o3_8h"]) and (r["o3_8h_windows"], r["o3_8h_valid"]) == (13, False)
    # 180 > 160 (GB 3095 O3 8h limit): valid with 13 windows.
    r = one(out, "W13HI", "2026-03-01")
    assert (r["o3_8h"], r["o3_8h_windows"], r["o3_8h_valid"]) == (180.0, 13, True)
    # 160 is not above the limit.
    r = one(out, "W13AT", "2026-03-01")
    assert pd.isna(r["o3_8h"]) and not r["o3_8h_valid"]


def test_o3_8h_uses_timestamps_not_row_positions():
    slots = [h for h in ALL if h not in (20, 21, 22)]  # three rows absent
    r = one(daily_station(station_day("A", "2026-03-01", slots, o3=slots)), "A", "2026-03-01")
    # Windows ending 22, 23, 24 keep only 5 hours (15-19 / 16-19+23 / 17-19+23+24).
    # Ending 21: slots 14..19 (6 hours) -> 16.5, the max; ending 8..21 -> 14 windows.
    # (A rolling over the last 8 rows would give (14+...+19+23+24)/8 = 18.25.)
    assert (r["o3_8h"], r["o3_8h_windows"], r["o3_8h_valid"]) == (16.5, 14, True)
    assert (r["o3_1h"], r["o3_1h_hours"]) == (24.0, 21)
    assert r["pm25_hours"] == 21


# -------------------------------------------------------------- daily AQI


def test_daily_station_aqi_both_versions():
    out = daily_station(pd.concat([
        station_day("A", "2026-02-28", ALL, pm25=80.0),
        station_day("A", "2026-03-01", ALL, pm25=80.0),
    ]))
    old, new = one(out, "A", "2026-02-28"), one(out, "A", "2026-03-01")
    # PM2.5 80: 2012 50/40*5+100 = 106.25 -> 107; 2026 50/55*20+100 = 118.2 -> 119.
    assert (old["aqi"], old["aqi_standard"], old["primary_pollutant"]) == (
        107, "HJ 633-2012", "PM2.5")
    assert (new["aqi"], new["aqi_standard"], new["primary_pollutant"]) == (
        119, "HJ 633-2026", "PM2.5")
    assert old["aqi_complete"] and new["aqi_complete"]


def test_daily_station_invalid_mean_is_missing_for_aqi():
    pm25 = [80.0] * 19 + [np.nan] * 5
    out = daily_station(pd.concat([
        station_day("A", "2026-02-28", ALL, pm25=pm25),
        station_day("A", "2026-03-01", ALL, pm25=pm25),
    ]))
    old, new = one(out, "A", "2026-02-28"), one(out, "A", "2026-03-01")
    # 2012: max of the other six (PM10 40); 2026: the rest is 40 <= 100 -> NA.
    assert (old["aqi"], old["aqi_complete"]) == (40, False)
    assert pd.isna(new["aqi"]) and not new["aqi_complete"]


# ------------------------------------------------------------------- city


def test_daily_city_mean_over_valid_registered_stations():
    pm10_19 = [40.0] * 19 + [np.nan] * 5
    hourly = pd.concat([
        station_day("S1", "2026-03-01", ALL, pm25=30.0),
        station_day("S2", "2026-03-01", ALL, pm25=50.0, pm10=pm10_19),
        station_day("S3", "2026-03-01", ALL, pm25=[80.0] * 19 + [np.nan] * 5),
        station_day("S4", "2026-03-01", ALL, pm25=500.0),  # registered without a city
        station_day("S5", "2026-03-01", ALL, pm25=500.0),  # not registered
    ])
    stations = pd.DataFrame({
        "station_code": ["S1", "S2", "S3", "S4"],
        "city_code": ["320100", "320100", "320200", None],
        "province_code": ["320000", "320000", "320000", "320000"],
    })
    out = daily_city(daily_station(hourly), stations)
    assert list(out.columns) == list(DAILY_CITY_COLUMNS)
    assert list(out["city_code"]) == ["320100", "320200"]
    nanjing, wuxi = out.iloc[0].to_dict(), out.iloc[1].to_dict()
    # (30 + 50) / 2 = 40 over two valid stations; PM10 only S1 (S2 has 19 hours).
    assert (nanjing["pm25"], nanjing["pm25_stations"], nanjing["pm25_valid"]) == (40.0, 2, True)
    assert (nanjing["pm10"], nanjing["pm10_stations"]) == (40.0, 1)
    assert nanjing["province_code"] == "320000"
    # City AQI (2026) from the means: PM2.5 40 -> 35..60: 50/25*5+50 = 60.
    assert (nanjing["aqi"], nanjing["primary_pollutant"], nanjing["aqi_complete"]) == (
        60, "PM2.5", True)
    # Wuxi's only station is invalid for PM2.5: no city value, AQI NA (2026 rule).
    assert pd.isna(wuxi["pm25"]) and (wuxi["pm25_stations"], wuxi["pm25_valid"]) == (0, False)
    assert pd.isna(wuxi["aqi"]) and not wuxi["aqi_complete"]


# ------------------------------------------------- reference and speed


def _naive_daily(hourly: pd.DataFrame) -> dict:
    """Straight from HJ 663, one station-day at a time, keyed by (station, day)."""
    expected = {}
    for (station, day), rows in hourly.groupby(["station_code", "date"]):
        start = pd.Timestamp(day, tz=TZ)
        by_slot = {int((t - start) / pd.Timedelta(hours=1)): r for t, r in
                   zip(rows["ts"], rows.to_dict("records"), strict=True)}
        result = {}
        for p in ("pm25", "co"):
            vals = [by_slot[h][p] for h in by_slot if not np.isnan(by_slot[h][p])]
            result[p] = np.mean(vals) if len(vals) >= 20 else np.nan
        o3 = {h: r["o3"] for h, r in by_slot.items() if not np.isnan(r["o3"])}
        means = []
        for end in range(8, 25):
            window = [o3[h] for h in range(end - 7, end + 1) if h in o3]
            if len(window) >= 6:
                means.append(np.mean(window))
        best = max(means) if means else np.nan
        result["o3_8h"] = best if (len(means) >= 14 or best > 160) else np.nan
        expected[(station, day)] = result
    return expected


def test_matches_naive_reference_on_random_gaps():
    rng = np.random.default_rng(7)
    frames = []
    for s in range(6):
        for d in ("2026-02-28", "2026-03-01"):
            slots = sorted(rng.choice(np.arange(1, 25), size=rng.integers(14, 25), replace=False))
            values = {p: np.where(rng.random(len(slots)) < 0.1, np.nan,
                                  rng.gamma(2.0, 60.0, len(slots))) for p in POLLUTANTS}
            frames.append(station_day(f"S{s}", d, slots, **values))
    hourly = pd.concat(frames, ignore_index=True)
    out = daily_station(hourly)
    for (station, day), exp in _naive_daily(hourly).items():
        got = one(out, station, day.isoformat())
        for p, value in exp.items():
            if np.isnan(value):
                assert pd.isna(got[p]), (station, day, p)
            else:
                assert got[p] == pytest.approx(value), (station, day, p)


def test_fifty_thousand_station_hours_well_under_a_second():
    rng = np.random.default_rng(0)
    n_stations = 2100  # 2100 x 24 = 50,400 station-hours
    start = pd.Timestamp("2026-03-01", tz=TZ)
    ts = start + pd.to_timedelta(np.tile(np.arange(1, 25), n_stations), unit="h")
    hourly = pd.DataFrame({
        "station_code": np.repeat([f"{i:04d}A" for i in range(n_stations)], 24),
        "ts": ts,
        "date": date(2026, 3, 1),
    })
    for p in POLLUTANTS:
        v = rng.gamma(2.0, 20.0, len(hourly))
        v[rng.random(len(hourly)) < 0.05] = np.nan
        hourly[p] = v
    hourly = hourly.sample(frac=0.97, random_state=1)  # absent rows, shuffled order
    began = time.perf_counter()
    out = daily_station(hourly)
    elapsed = time.perf_counter() - began
    assert len(out) == n_stations
    assert elapsed < 1.0, f"daily_station took {elapsed:.2f} s"
