"""CNEMC long hourly archive: hand-written CSV fixtures, encodings, bad cells."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from envmon.air.schema import PARSED_COLUMNS
from envmon.air.sources.cnemc_archive import (
    parse_cnemc_archive,
    parse_timepoint,
    station_metadata,
    window_from_name,
)
from envmon.core.errors import InputError
from envmon.core.timeutil import BEIJING
from tests.support.feeds import SPELLING_2022, SPELLING_2024, write_cnemc_archive

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "air" / "cnemc"
GOOD = FIXTURES / "cnemc_hourly_20261001.csv"


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=BEIJING)


def test_good_file() -> None:
    result = parse_cnemc_archive(GOOD)
    frame = result.frame
    assert list(frame.columns) == list(PARSED_COLUMNS)
    assert result.rejects == []
    assert len(frame) == 4
    assert list(frame["source_line"]) == [2, 3, 4, 5]
    first = frame.iloc[0]
    assert first["station_code"] == "1141A"
    assert first["ts"] == at("2026-10-01 01:00")
    assert str(frame["ts"].dt.tz) == str(BEIJING)
    assert (first["pm25"], first["pm10"], first["so2"], first["no2"], first["o3"]) == (
        28.0, 46.0, 8.0, 35.0, 62.0)
    assert first["co"] == pytest.approx(0.6)
    assert (first["pm25_24h"], first["pm10_24h"], first["so2_24h"]) == (31.0, 52.0, 9.0)
    assert first["feed_aqi"] == 48.0


def test_missing_tokens_are_nan() -> None:
    frame = parse_cnemc_archive(GOOD).frame
    row = frame[(frame["station_code"] == "1141A")
                & (frame["ts"] == at("2026-10-01 02:00"))].iloc[0]
    # empty pm2_5, NA o3, "-" so2, "--" co
    assert all(math.isnan(row[c]) for c in ("pm25", "o3", "so2", "co"))
    assert row["no2"] == 33.0


def test_window_is_the_date_of_the_name_read_either_way() -> None:
    # Timepoints 00:00-23:00 of the date (how the publisher groups a day) and
    # the natural day's hours ending 01:00-24:00 are both "on" 1 October.
    result = parse_cnemc_archive(GOOD)
    assert result.window == (datetime(2026, 10, 1, 0, tzinfo=BEIJING),
                             datetime(2026, 10, 2, 0, tzinfo=BEIJING))
    # hour ending 2 October 00:00 belongs to 1 October and sits inside the window
    assert result.frame["ts"].max() == at("2026-10-02 00:00")
    assert window_from_name("cnemc_hourly.csv") is None
    assert window_from_name("cnemc_20261399.csv") is None  # not a date


def test_utf8_with_bom(tmp_path: Path) -> None:
    target = tmp_path / "cnemc_bom.csv"
    target.write_bytes(b"\xef\xbb\xbf" + GOOD.read_bytes())
    result = parse_cnemc_archive(target)
    assert len(result.frame) == 4 and result.rejects == []
    assert station_metadata(target)["station_name"].tolist() == ["普陀", "迈皋桥"]


def test_gb18030(tmp_path: Path) -> None:
    target = tmp_path / "cnemc_gb18030.csv"
    target.write_bytes(GOOD.read_text(encoding="utf-8").encode("gb18030"))
    with pytest.raises(UnicodeDecodeError):  # the fixture really is not UTF-8
        target.read_bytes().decode("utf-8")
    result = parse_cnemc_archive(target)
    assert len(result.frame) == 4 and result.rejects == []
    meta = station_metadata(target)
    assert meta.set_index("station_code").loc["1160A", "station_name"] == "迈皋桥"
    assert meta.set_index("station_code").loc["1160A", "area"] == "南京市"


def test_station_metadata() -> None:
    meta = station_metadata(GOOD)
    assert list(meta.columns) == ["station_code", "station_name", "longitude", "latitude",
                                  "area"]
    assert meta["station_code"].tolist() == ["1141A", "1160A"]
    first = meta.iloc[0]
    assert (first["station_name"], first["area"]) == ("普陀", "上海市")
    assert (first["longitude"], first["latitude"]) == (121.4775, 31.2078)


def test_header_case_space_and_extra_column(tmp_path: Path) -> None:
    target = tmp_path / "messy.csv"
    text = (FIXTURES / "cnemc_messy_header.csv").read_text(encoding="utf-8")
    target.write_text(text.replace("2026/10/1 13:00", "2026-10-01 13:00"), encoding="utf-8")
    result = parse_cnemc_archive(target)
    assert result.rejects == []
    row = result.frame.iloc[0]
    assert row["ts"] == at("2026-10-01 13:00")
    assert (row["pm25"], row["o3"], row["feed_aqi"]) == (35.0, 120.0, 55.0)
    assert result.window is None


def test_slash_dates_are_not_a_publisher_spelling() -> None:
    # Re-saved by a spreadsheet (2026/10/1 13:00): which hour it meant is a guess.
    [refused] = parse_cnemc_archive(FIXTURES / "cnemc_messy_header.csv").rejects
    assert (refused.line, refused.field, refused.value) == (2, "timepoint", "2026/10/1 13:00")
    assert "YYYY-MM-DDTHHMM[SS]" in refused.reason


def test_missing_column_names_file_and_column() -> None:
    path = FIXTURES / "cnemc_missing_pm2_5.csv"
    with pytest.raises(InputError) as caught:
        parse_cnemc_archive(path)
    assert "cnemc_missing_pm2_5.csv" in str(caught.value)
    assert "'pm2_5'" in str(caught.value)
    assert caught.value.field == "pm2_5"


def test_bad_rows_are_rejected_and_left_out() -> None:
    result = parse_cnemc_archive(FIXTURES / "cnemc_bad_rows.csv")
    assert list(result.frame["source_line"]) == [2, 6]
    by_line = {r.line: r for r in result.rejects}
    assert sorted(by_line) == [3, 4, 5]
    text, negative, timepoint = by_line[3], by_line[4], by_line[5]
    assert (text.field, text.value) == ("pm2_5", "维护")
    assert "not a number" in text.reason
    assert (negative.field, negative.value) == ("no2", "-5")
    assert "negative" in negative.reason
    assert (timepoint.field, timepoint.value) == ("timepoint", "2026-10-01 25:00:00")
    assert all(r.raw and r.raw.startswith("2026-10-01") for r in result.rejects)


def test_several_bad_cells_make_one_reject(tmp_path: Path) -> None:
    target = tmp_path / "two_bad.csv"
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",28,31,", ",x,31,").replace(",35,38,", ",-1,38,")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = parse_cnemc_archive(target)
    assert len(result.rejects) == 1
    assert result.rejects[0].field == "pm2_5"
    assert "no2" in result.rejects[0].reason
    assert len(result.frame) == 3


@pytest.mark.parametrize("aqi, reason", [
    ("501", "feed AQI off the HJ 633-2012 scale (0-500) in aqi"),
    ("1e309", "not a finite number in aqi"),  # reads as infinity
    ("1e400", "not a finite number in aqi"),
    ("维护", "not a number in aqi"),
])
def test_unusable_feed_aqi_is_refused_alone(tmp_path: Path, aqi: str, reason: str) -> None:
    # The feed's AQI is a cross-check, never used: it must not cost the hour's PM2.5.
    target = tmp_path / "aqi.csv"
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",—,48,", f",—,{aqi},")
    lines[2] = lines[2].replace(",PM10,62,", ",PM10,500,")  # the top of the scale is fine
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = parse_cnemc_archive(target)
    assert [(r.line, r.field, r.value, r.reason) for r in result.rejects] == [
        (2, "aqi", aqi, reason)]
    assert result.rejects[0].raw == lines[1]
    frame = result.frame.set_index("source_line")
    assert len(frame) == 4
    assert math.isnan(frame.loc[2, "feed_aqi"]) and frame.loc[2, "pm25"] == 28.0
    assert frame.loc[3, "feed_aqi"] == 500.0


def test_infinite_concentration_refuses_the_row(tmp_path: Path) -> None:
    target = tmp_path / "inf.csv"
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",28,31,", ",1e309,31,")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = parse_cnemc_archive(target)
    assert [(r.line, r.field, r.reason) for r in result.rejects] == [
        (2, "pm2_5", "not a finite number in pm2_5")]
    assert list(result.frame["source_line"]) == [3, 4, 5]


def test_column_twice_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "cnemc_20261001.csv"
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join([lines[0] + ",AQI", *lines[1:]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        parse_cnemc_archive(target)
    assert str(caught.value) == ("cnemc_20261001.csv, field 'aqi': column 'aqi' appears twice "
                                 "in the header")


def test_duplicate_station_hour_is_rejected(tmp_path: Path) -> None:
    target = tmp_path / "dup.csv"
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    result = parse_cnemc_archive(target)
    assert [r.line for r in result.rejects] == [6]
    assert "line 2" in result.rejects[0].reason


def test_short_row_is_rejected(tmp_path: Path) -> None:
    target = tmp_path / "short.csv"
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join([lines[0], "2026-10-01 03:00:00,1141A,121.4"]) + "\n",
                      encoding="utf-8")
    result = parse_cnemc_archive(target)
    assert result.frame.empty
    assert result.rejects[0].line == 2 and "3 fields" in result.rejects[0].reason


def test_line_numbers_are_physical_lines(tmp_path: Path) -> None:
    target = tmp_path / "blank_lines.csv"
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join([lines[0], "", lines[1], "", lines[2]]) + "\n",
                      encoding="utf-8")
    assert list(parse_cnemc_archive(target).frame["source_line"]) == [3, 5]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file"),
    (b"\n \n", "empty file"),
    (GOOD.read_bytes().splitlines(keepends=True)[0], "no rows"),
])
def test_empty_file_or_header_only(tmp_path: Path, content: bytes, message: str) -> None:
    target = tmp_path / "cnemc_20261001.csv"
    target.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        parse_cnemc_archive(target)
    assert "cnemc_20261001.csv" in str(caught.value)


THIRTEEN = datetime(2026, 10, 1, 13, tzinfo=BEIJING)
EXPECTED = ("YYYY-MM-DD HH:MM[:SS], YYYY-MM-DDTHH:MM[:SS] or YYYY-MM-DDTHHMM[SS] "
            "(Beijing time, on the hour)")


@pytest.mark.parametrize("text", [
    "2026-10-01 13:00:00", "2026-10-01 13:00",  # the archive's early files
    "2026-10-01T13:00:00", "2026-10-01T13:00",  # 2022
    "2026-10-01T1300", "2026-10-01T130000",  # 2024 onwards
    " 2026-10-01T1300 ",
])
def test_parse_timepoint_every_publisher_spelling(text: str) -> None:
    assert parse_timepoint(text) == THIRTEEN


@pytest.mark.parametrize(("text", "problem"), [
    ("2026/10/1 13:00", "not in a spelling the publisher uses"),
    ("2026/10/01 13:00", "not in a spelling the publisher uses"),
    ("2026100113", "not in a spelling the publisher uses"),
    ("2026-10-01 1300", "not in a spelling the publisher uses"),
    ("2026-10-1 13:00", "not in a spelling the publisher uses"),
    ("2026-10-01T13", "not in a spelling the publisher uses"),
    ("2026-10-01T13:00:00+08:00", "not in a spelling the publisher uses"),
    ("yesterday", "not in a spelling the publisher uses"),
    ("2026-10-01 13:30:00", "not on the hour"),
    ("2026-10-01T1300 30", "not in a spelling the publisher uses"),
    ("2026-10-01T130030", "not on the hour"),
    ("2026-10-01 24:00:00", "not a real date and hour"),
    ("2026-10-01T2500", "not a real date and hour"),
    ("2026-02-30T0100", "not a real date and hour"),
])
def test_other_timepoints_are_refused_naming_the_spellings(tmp_path: Path, text: str,
                                                           problem: str) -> None:
    assert parse_timepoint(text) is None
    target = tmp_path / "one.csv"
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("2026-10-01 01:00:00", text)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [refused] = parse_cnemc_archive(target).rejects
    assert (refused.line, refused.field, refused.value) == (2, "timepoint", text.strip())
    assert refused.reason == f"timepoint {text.strip()!r} is {problem}: expected {EXPECTED}"


@pytest.mark.parametrize("spelling", [SPELLING_2022, SPELLING_2024])
def test_a_national_day_in_each_spelling_loads_whole(tmp_path: Path, spelling: str) -> None:
    # A file of 2025, named for its date, hours 00-23 as the publisher groups them.
    day = datetime(2025, 1, 1, tzinfo=BEIJING)
    path = write_cnemc_archive(tmp_path / "cnemc_20250101.csv",
                               [day + timedelta(hours=h) for h in range(24)], spelling=spelling)
    result = parse_cnemc_archive(path)
    assert result.rejects == [] and result.warnings == []
    assert len(result.frame) == 72
    assert result.frame["ts"].min() == at("2025-01-01 00:00")
    assert result.frame["ts"].max() == at("2025-01-01 23:00")
    assert set(result.frame["station_code"]) == {"9001A", "9002A", "9016A"}



def test_delivered_name_gives_window_and_error_label(tmp_path: Path) -> None:
    # Landing stores files under their sha256; the delivered name is passed in.
    landed = tmp_path / "3f7a9c.csv"
    landed.write_bytes(GOOD.read_bytes())
    assert parse_cnemc_archive(landed).window is None
    result = parse_cnemc_archive(landed, name="cnemc_archive_20261001.csv")
    assert result.window == (datetime(2026, 10, 1, 0, tzinfo=BEIJING),
                             datetime(2026, 10, 2, 0, tzinfo=BEIJING))
    landed.write_bytes(b"")
    with pytest.raises(InputError, match="cnemc_archive_20261001.csv: empty file"):
        parse_cnemc_archive(landed, name="cnemc_archive_20261001.csv")


JAN1 = datetime(2022, 1, 1, tzinfo=BEIJING)


def hours(*numbers: int) -> list[datetime]:
    """Timepoints of 1 January 2022 (24 is 2 January 00:00, the natural day's last)."""
    return [JAN1 + timedelta(hours=h) for h in numbers]


def test_rows_off_the_named_day_are_refused_saying_where_the_window_came_from(
        tmp_path: Path) -> None:
    path = write_cnemc_archive(tmp_path / "cnemc_20220101.csv", hours(-1, *range(24), 25),
                               stations=["9001A"], spelling=SPELLING_2022)
    result = parse_cnemc_archive(path)
    assert [(r.line, r.field, r.value, r.reason) for r in result.rejects] == [
        (2, "timepoint", "2021-12-31T23:00:00",
         "timepoint '2021-12-31T23:00:00' is outside the window 2022-01-01 00:00 - 24:00 "
         "inferred from the file name cnemc_20220101.csv"),
        (27, "timepoint", "2022-01-02T01:00:00",
         "timepoint '2022-01-02T01:00:00' is outside the window 2022-01-01 00:00 - 24:00 "
         "inferred from the file name cnemc_20220101.csv")]
    assert result.rejects[0].raw.startswith("2021-12-31T23:00:00,9001A,")
    assert len(result.frame) == 24 and result.warnings == []


def test_a_file_of_the_natural_day_loads_whole_too(tmp_path: Path) -> None:
    path = write_cnemc_archive(tmp_path / "cnemc_20220101.csv", hours(*range(1, 25)))
    result = parse_cnemc_archive(path)
    assert result.rejects == [] and result.warnings == [] and len(result.frame) == 72


@pytest.mark.parametrize(("numbers", "warning"), [
    ([h for h in range(24) if h not in (5, 6, 13, 14, 22)],
     "19 of 24 hours: missing 05, 06, 13, 14, 22"),
    # Read as the natural day (it holds 24:00 and not 00:00), it lacks 10:00 only.
    ([h for h in range(1, 25) if h != 10], "23 of 24 hours: missing 10"),
    ([0], "1 of 24 hours: missing 01, 02, 03, 04, 05, 06, 07, 08, 09, 10, 11, 12, 13, 14, "
          "15, 16, 17, 18, 19, 20, 21, 22, 23"),
])
def test_a_day_file_missing_hours_says_which(tmp_path: Path, numbers: list[int],
                                             warning: str) -> None:
    path = write_cnemc_archive(tmp_path / "cnemc_20220101.csv", hours(*numbers))
    result = parse_cnemc_archive(path)
    assert result.rejects == [] and len(result.frame) == 3 * len(numbers)
    assert result.warnings == [warning]


@pytest.mark.parametrize("name", ["cnemc_202201.csv", "cnemc_20220101-20220102.csv",
                                  "cnemc_20220101_20220102.csv"])
def test_a_file_not_named_for_one_day_claims_no_hours(tmp_path: Path, name: str) -> None:
    path = write_cnemc_archive(tmp_path / name, hours(3, 4))
    assert parse_cnemc_archive(path).warnings == []
