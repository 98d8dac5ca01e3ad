"""The monthly laboratory CSV parser on hand-written files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from envmon.core.errors import InputError
from envmon.core.timeutil import BEIJING
from envmon.water.sources.lab_monthly import parse_lab_monthly

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "water" / "lab"


def test_full_table_1_file() -> None:
    result = parse_lab_monthly(FIXTURES / "lab_monthly_202610.csv")
    assert result.rejects == []
    frame = result.frame.set_index("section_code")
    taipu = frame.loc["YW001"]
    assert taipu["ts"] == datetime(2026, 10, 12, 10, 0, tzinfo=BEIJING)
    assert taipu["cod"] == 12 and taipu["bod5"] == 2.1 and taipu["fecal_coliform"] == 1800
    # "汞(μg/L)" 0.03 -> 0.00003 mg/L
    assert taipu["mercury"] == pytest.approx(0.00003)
    # "0.0004L": below the detection limit 0.0004 -> half of it, and listed
    assert taipu["selenium"] == pytest.approx(0.0002)
    assert taipu["below_detection"] == "selenium,cr6,cyanide,las,sulfide"
    assert taipu["sample_kind"] == "lab" and pd.isna(taipu["chla"])
    assert frame.loc["YW016", "chla"] == 0.035 and frame.loc["YW016", "sd"] == 0.4
    # no sampling time: 00:00; slashes in the date are read too
    assert frame.loc["YW022", "ts"] == datetime(2026, 10, 15, 0, 0, tzinfo=BEIJING)
    # the name's YYYYMM claims October
    assert result.window == (datetime(2026, 10, 1, tzinfo=BEIJING),
                             datetime(2026, 10, 31, 23, 59, 59, tzinfo=BEIJING))


def test_below_detection_factor_is_configurable() -> None:
    zero = parse_lab_monthly(FIXTURES / "lab_monthly_202610.csv", below_detection_factor=0.0)
    assert zero.frame.set_index("section_code").loc["YW001", "selenium"] == 0.0


def test_unknown_item_is_an_input_error() -> None:
    with pytest.raises(InputError, match="'钼\\(mg/L\\)' is not an item envmon knows") as info:
        parse_lab_monthly(FIXTURES / "lab_unknown_item.csv")
    assert "lab_unknown_item.csv" in str(info.value)


def test_wrong_unit_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unit 个/L is not a unit of this item .*mg/L"):
        parse_lab_monthly(FIXTURES / "lab_wrong_unit.csv")


def test_bad_rows_are_rejected_one_by_one() -> None:
    result = parse_lab_monthly(FIXTURES / "lab_bad_rows.csv")
    by_line = {r.line: r for r in result.rejects}
    assert "row has 4 cells, the header has 6" in by_line[3].reason
    assert by_line[4].field == "采样日期" and by_line[4].value == "2026-02-30"
    assert by_line[5].field == "COD(mg/L)" and by_line[5].value == "1O"
    assert by_line[6].reason == "empty section code"
    assert by_line[7].reason == "no measured value"
    frame = result.frame.set_index("section_code")
    # the bad COD cell is refused, the sample's other items load
    assert frame.loc["YW007", "nh3n"] == 0.45 and pd.isna(frame.loc["YW007", "cod"])
    # a code the registry does not know is loaded (flagged later, not dropped)
    assert "YX999" in frame.index
    assert sorted(frame.index) == ["YW001", "YW007", "YX999"]


def test_missing_required_column_and_empty_files(tmp_path: Path) -> None:
    path = tmp_path / "no_date.csv"
    path.write_text("断面编码,氨氮(mg/L)\nYW001,0.3\n", encoding="utf-8")
    with pytest.raises(InputError, match="采样日期"):
        parse_lab_monthly(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty file"):
        parse_lab_monthly(empty)


def test_gb18030_file(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("断面编码,采样日期,氨氮(mg/L)\nYW001,2026-10-12,0.31\n".encode("gb18030"))
    assert parse_lab_monthly(path).frame.loc[0, "nh3n"] == 0.31
