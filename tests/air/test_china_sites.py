"""The station archive parser on the real wide layout, good and bad."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from envmon.air.sources.china_sites import parse_china_sites
from envmon.core.errors import InputError
from tests.support.feeds import TYPES, china_sites_text, write_china_sites


def test_wide_file_becomes_station_hours(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", ["1001A", "1002A"], hours=range(3))
    result = parse_china_sites(path)
    assert len(result.frame) == 6
    assert result.rejects == []
    row = result.frame.iloc[0]
    assert row["station_code"] == "1001A"
    # hour 0 of 1 October, hour-ending: the hour 23:00-24:00 that ends at 00:00
    assert row["ts"] == pd.Timestamp("2026-10-01 00:00", tz="Asia/Shanghai")
    assert (row["pm25"], row["pm10"], row["co"], row["pm25_24h"]) == (40, 65, 0.7, 42)
    assert result.window[0] == pd.Timestamp("2026-10-01 00:00", tz="Asia/Shanghai")
    assert result.window[1] == pd.Timestamp("2026-10-01 23:00", tz="Asia/Shanghai")


def test_hour_beginning_label_shifts_one_hour(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", ["1001A"], hours=[0])
    result = parse_china_sites(path, hour_label="beginning")
    assert result.frame["ts"].iloc[0] == pd.Timestamp("2026-10-01 01:00", tz="Asia/Shanghai")


def test_station_columns_vary_between_files(tmp_path: Path) -> None:
    a = parse_china_sites(write_china_sites(tmp_path / "a", "20261001", ["1001A", "1002A"],
                                            hours=[1]))
    b = parse_china_sites(write_china_sites(tmp_path / "b", "20261002",
                                            ["1003A", "1001A", "1004A"], hours=[1]))
    assert set(a.frame["station_code"]) == {"1001A", "1002A"}
    assert set(b.frame["station_code"]) == {"1001A", "1003A", "1004A"}


def test_all_empty_station_hour_is_no_row(tmp_path: Path) -> None:
    blank = {(1, t, "1002A"): "" for t in ("AQI", "PM2.5", "PM2.5_24h", "PM10", "PM10_24h",
                                          "SO2", "SO2_24h", "NO2", "NO2_24h", "O3", "O3_24h",
                                          "O3_8h", "O3_8h_24h", "CO", "CO_24h")}
    path = write_china_sites(tmp_path, "20261001", ["1001A", "1002A"], hours=[1], override=blank)
    result = parse_china_sites(path)
    assert list(result.frame["station_code"]) == ["1001A"]


def test_empty_cell_is_missing_not_zero(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", ["1001A"], hours=[1],
                             override={(1, "SO2", "1001A"): ""})
    result = parse_china_sites(path)
    assert pd.isna(result.frame["so2"].iloc[0])
    assert result.frame["pm25"].iloc[0] == 40


@pytest.mark.parametrize("body, message", [
    ("", "empty file"),
    ("   \n\n", "empty file"),
    ("date,hour,type,1001A\n", "no rows"),
    ("day,hour,kind,1001A\n20261001,1,PM2.5,3\n", "header must start with date,hour,type"),
    ("date,hour,type\n20261001,1,PM2.5\n", "no station columns"),
    ("date,hour,type,1001A,1001A\n20261001,1,PM2.5,3,4\n", "appears twice"),
])
def test_unreadable_files_are_clear_errors(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "china_sites_20261001.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_china_sites(path)
    assert message in str(err.value)
    assert "china_sites_20261001.csv" in str(err.value)


def test_bad_lines_and_cells_become_rejects_with_line_and_field(tmp_path: Path) -> None:
    text = china_sites_text("20261001", ["1001A", "1002A"], hours=[1, 2],
                            override={(1, "PM2.5", "1002A"): "abc", (2, "NO2", "1001A"): "-5",
                                      (2, "O3_8h", "1002A"): "x"})
    text += "20261001,3,PM1,5,6\n"          # unknown type
    text += "20261001,25,PM2.5,5,6\n"       # impossible hour
    text += "2026-10-01,3,PM2.5,5,6\n"      # bad date
    text += "20261001,1,CO,0.6,0.6\n"       # repeats line of hour 1, CO
    path = tmp_path / "china_sites_20261001.csv"
    path.write_text(text, encoding="utf-8")
    result = parse_china_sites(path)
    reasons = {r.reason.split(":")[0]: r for r in result.rejects}
    assert reasons["unknown type"].line == 32 and reasons["unknown type"].value == "PM1"
    assert reasons["bad hour (expected 0-23)"].field == "hour"
    assert reasons["bad date (expected YYYYMMDD)"].value == "2026-10-01"
    dup = [r for r in result.rejects if r.reason.startswith("duplicate line")]
    assert dup and dup[0].line == 35 and "first given on line 15" in dup[0].reason
    text_cell = [r for r in result.rejects if "not a number" in r.reason]
    assert {(r.field, r.value) for r in text_cell} == {("1002A", "abc"), ("1002A", "x")}
    negative = [r for r in result.rejects if "negative" in r.reason]
    assert negative[0].field == "1001A" and negative[0].line == 24
    # A refused cell is left out; its station-hour keeps the other values.
    frame = result.frame.set_index(["station_code", result.frame["ts"].dt.hour])
    assert len(frame) == 4
    assert pd.isna(frame.loc[("1002A", 1), "pm25"]) and frame.loc[("1002A", 1), "pm10"] == 65
    assert pd.isna(frame.loc[("1001A", 2), "no2"]) and frame.loc[("1001A", 2), "so2"] == 8


def test_gb18030_file_is_read(tmp_path: Path) -> None:
    # A china_cities file has one column per city, named in Chinese: encoded in
    # GB18030 these bytes are not UTF-8, so a UTF-8-only decoder fails here.
    path = tmp_path / "china_cities_20261001.csv"
    data = china_sites_text("20261001", ["上海", "太原"], hours=[1],
                            override={(1, "PM2.5", "太原"): "51"}).encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    path.write_bytes(data)
    result = parse_china_sites(path)
    assert result.rejects == []
    pm25 = result.frame.set_index("station_code")["pm25"]
    assert pm25.to_dict() == {"上海": 40.0, "太原": 51.0}


@pytest.mark.parametrize("aqi", ["501", "600", "1e309", "inf", "1e400"])
def test_feed_aqi_off_the_hj633_scale_is_refused_alone(tmp_path: Path, aqi: str) -> None:
    # HJ 633-2012 tops out at 500; 1e309 and "inf" read as infinity.
    path = write_china_sites(tmp_path, "20261001", ["1001A", "1002A"], hours=[1],
                             override={(1, "AQI", "1001A"): aqi, (1, "AQI", "1002A"): "500"})
    result = parse_china_sites(path)
    assert [(r.field, r.value, r.line) for r in result.rejects] == [("1001A", aqi, 2)]
    assert result.rejects[0].reason.startswith(
        ("feed AQI off the HJ 633-2012 scale (0-500)", "not a finite number"))
    frame = result.frame.set_index("station_code")
    assert pd.isna(frame.loc["1001A", "feed_aqi"]) and frame.loc["1001A", "pm25"] == 40
    assert frame.loc["1002A", "feed_aqi"] == 500


def test_infinite_concentration_is_a_bad_cell(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", ["1001A"], hours=[1],
                             override={(1, "PM10", "1001A"): "1e309"})
    result = parse_china_sites(path)
    assert [(r.field, r.value) for r in result.rejects] == [("1001A", "1e309")]
    assert result.rejects[0].reason.startswith("not a finite number '1e309' for PM10")
    row = result.frame.iloc[0]
    assert pd.isna(row["pm10"]) and row["pm25"] == 40


def test_name_gives_window_for_landed_copy(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", ["1001A"], hours=[1])
    landed = path.rename(tmp_path / "0123abcd.csv")
    assert parse_china_sites(landed).window is None
    assert parse_china_sites(landed, name="china_sites_20261001.csv").window is not None


def test_line_wider_than_header_is_refused_alone(tmp_path: Path) -> None:
    text = china_sites_text("20261001", ["1001A"], hours=[1])
    text += "20261001,2,PM2.5,33,44\n"  # two station cells, one station column
    text += "20261001,2,PM10,50\n"
    path = tmp_path / "china_sites_20261001.csv"
    path.write_text(text, encoding="utf-8")
    result = parse_china_sites(path)
    [wide] = [r for r in result.rejects if "cells" in r.reason]
    assert wide.line == 17 and "has 5 cells, the header has 4" in wide.reason
    hour2 = result.frame[result.frame["ts"].dt.hour == 2].iloc[0]
    assert hour2["pm10"] == 50 and pd.isna(hour2["pm25"])


def test_short_line_is_padded_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "china_sites_20261001.csv"
    path.write_text("date,hour,type,1001A,1002A\n20261001,1,PM2.5,33\n", encoding="utf-8")
    result = parse_china_sites(path)
    assert result.rejects == [] and list(result.frame["station_code"]) == ["1001A"]


MISSING = [5, 6, 13, 14, 22]


def test_a_day_missing_hours_says_which(tmp_path: Path) -> None:
    # 19 of the day's 24 hour lines: every row still loads, and the result says so.
    path = write_china_sites(tmp_path, "20261001", ["1001A", "1002A"],
                             hours=[h for h in range(24) if h not in MISSING])
    result = parse_china_sites(path)
    assert result.rejects == [] and len(result.frame) == 38
    assert result.warnings == ["19 of 24 hours: missing 05, 06, 13, 14, 22"]


def test_an_hour_with_no_value_at_any_station_is_missing(tmp_path: Path) -> None:
    # The hour's lines are there, every cell empty: nothing of that hour is delivered.
    blank = {(7, kind, "1001A"): "" for kind in TYPES}
    path = write_china_sites(tmp_path, "20261001", ["1001A"], override=blank)
    assert parse_china_sites(path).warnings == ["23 of 24 hours: missing 07"]


@pytest.mark.parametrize("hour_label", ["ending", "beginning"])
def test_a_whole_day_says_nothing_under_either_hour_label(tmp_path: Path,
                                                          hour_label: str) -> None:
    path = write_china_sites(tmp_path, "20261001", ["1001A"])
    result = parse_china_sites(path, hour_label=hour_label)
    assert result.rejects == [] and result.warnings == [] and len(result.frame) == 24


def test_hours_are_named_as_the_file_writes_them_under_hour_beginning(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", ["1001A"],
                             hours=[h for h in range(24) if h not in (0, 23)])
    result = parse_china_sites(path, hour_label="beginning")
    assert result.warnings == ["22 of 24 hours: missing 00, 23"]


def test_no_date_in_the_name_claims_no_day(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", ["1001A"], hours=[1])
    landed = path.rename(tmp_path / "0123abcd.csv")
    assert parse_china_sites(landed).warnings == []


@pytest.mark.parametrize(("hour_label", "window"), [
    ("ending", "2026-10-02 00:00 - 23:00"), ("beginning", "2026-10-02 01:00 - 24:00")])
def test_lines_of_another_day_are_refused_naming_the_window_and_its_origin(
        tmp_path: Path, hour_label: str, window: str) -> None:
    path = tmp_path / "china_sites_20261002.csv"
    path.write_text(china_sites_text("20261002", ["1001A"], hours=range(1, 24))
                    + china_sites_text("20261001", ["1001A"], hours=[0]).split("\n", 1)[1],
                    encoding="utf-8")
    result = parse_china_sites(path, hour_label=hour_label)
    [outside] = result.rejects
    assert outside.reason == (f"date 20261001 hour 0 is outside the window {window} inferred "
                              "from the file name china_sites_20261002.csv")
    assert (outside.line, outside.field, outside.value) == (348, "date", "20261001")
    assert len(result.frame) == 23
    assert result.warnings == ["23 of 24 hours: missing 00"]
