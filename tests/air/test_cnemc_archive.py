"""CNEMC long hourly archive: hand-written CSV fixtures, encodings, bad cells."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from pipelines.air.schema import PARSED_COLUMNS
from pipelines.air.sources.cnemc_archive import (
    parse_cnemc_archive,
    parse_timepoint,
    station_metadata,
    window_from_name,
)
from pipelines.core.errors import InputError
from pipelines.core.timeutil import BEIJING

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


def test_window_is_the_natural_day_of_the_name() -> None:
    result = parse_cnemc_archive(GOOD)
    assert result.window == (datetime(2026, 10, 1, 1, tzinfo=BEIJING),
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


def test_header_case_space_extra_column_and_slash_dates() -> None:
    result = parse_cnemc_archive(FIXTURES / "cnemc_messy_header.csv")
    assert result.rejects == []
    row = result.frame.iloc[0]
    assert row["ts"] == at("2026-10-01 13:00")
    assert (row["pm25"], row["o3"], row["feed_aqi"]) == (35.0, 120.0, 55.0)
    assert result.window is None


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


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-10-01 13:00:00", datetime(2026, 10, 1, 13, tzinfo=BEIJING)),
    ("2026/10/1 13:00", datetime(2026, 10, 1, 13, tzinfo=BEIJING)),
    ("2026-10-01 13:30:00", None),
    ("2026-10-01 24:00:00", None),
    ("yesterday", None),
])
def test_parse_timepoint(text: str, expected: datetime | None) -> None:
    assert parse_timepoint(text) == expected



def test_delivered_name_gives_window_and_error_label(tmp_path: Path) -> None:
    # Landing stores files under their sha256; the delivered name is passed in.
    landed = tmp_path / "3f7a9c.csv"
    landed.write_bytes(GOOD.read_bytes())
    assert parse_cnemc_archive(landed).window is None
    result = parse_cnemc_archive(landed, name="cnemc_archive_20261001.csv")
    assert result.window == (datetime(2026, 10, 1, 1, tzinfo=BEIJING),
                             datetime(2026, 10, 2, 0, tzinfo=BEIJING))
    landed.write_bytes(b"")
    with pytest.raises(InputError, match="cnemc_archive_20261001.csv: empty file"):
        parse_cnemc_archive(landed, name="cnemc_archive_20261001.csv")
