"""The real-time release parser on hand-written pages in the release's shape."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from envmon.core.errors import InputError
from envmon.core.timeutil import BEIJING
from envmon.water.sources.cnemc_water import (
    Page,
    cell_value,
    page_info,
    parse_pages,
    reading_time,
    section_cell,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "water" / "cnemc"
DAY = timedelta(days=1)
OCT14 = datetime(2026, 10, 14, 9, 0, tzinfo=BEIJING)


def parse(*names: str, fetched_at: datetime = OCT14):
    pages = [Page((FIXTURES / n).read_bytes(), n) for n in names]
    return parse_pages(pages, fetched_at=fetched_at, tolerance=DAY, max_age=31 * DAY)


def test_pages_parse_raw_values_from_span_titles() -> None:
    result = parse("realtime_p1.json", "realtime_p2.json")
    assert result.rejects == []
    frame = result.frame.set_index("section_code")
    assert len(frame) == 5
    taipu = frame.loc["YW001"]
    # the span text shows 0.08, the title's raw value 0.082 is what counts
    assert taipu["tp"] == 0.082 and taipu["nh3n"] == 0.184 and taipu["do"] == 8.213
    assert taipu["ts"] == datetime(2026, 10, 14, 8, 0, tzinfo=BEIJING)
    assert (taipu["feed_city"], taipu["feed_river"]) == ("苏州市", "太浦河")
    assert taipu["feed_class"] == "II" and taipu["sample_kind"] == "auto"
    assert pd.isna(taipu["chla"])  # "--"
    # a plain (non-span) cell row, and the &#10; separator in the section title
    assert frame.loc["YW022", "codmn"] == 4.6
    assert frame.loc["YW016", "feed_river"] == "太湖"
    assert frame.loc["YW016", "algae_density"] == 56_000_000.0
    # not in the registry: kept under a stable code of its own
    assert frame.loc["unregistered:山东:二级坝", "section_name"] == "二级坝"
    assert result.window == (OCT14 - 31 * DAY, OCT14 + DAY)


def test_do_saturation_is_computed() -> None:
    frame = parse("realtime_p1.json").frame.set_index("section_code")
    # Benson-Krause saturation at 21.35 ℃ is 8.854 mg/L: 8.213 / 8.854 = 92.8 %
    assert frame.loc["YW001", "do_saturation_pct"] == pytest.approx(92.76, abs=0.05)


def test_december_reading_fetched_in_january_is_previous_year() -> None:
    result = parse("year_boundary.json", fetched_at=datetime(2027, 1, 1, 5, 10, tzinfo=BEIJING))
    stamps = sorted(result.frame["ts"])
    assert stamps == [datetime(2026, 12, 31, 20, 0, tzinfo=BEIJING),
                      datetime(2027, 1, 1, 4, 0, tzinfo=BEIJING)]


@pytest.mark.parametrize(("stamp", "fetched", "expected"), [
    ("10-14 08:00", datetime(2026, 10, 14, 9, tzinfo=BEIJING),
     datetime(2026, 10, 14, 8, tzinfo=BEIJING)),
    ("12-31 20:00", datetime(2027, 1, 2, 0, tzinfo=BEIJING),
     datetime(2026, 12, 31, 20, tzinfo=BEIJING)),
    # within the tolerance of a day: the station's clock a little ahead of the fetch
    ("01-01 00:00", datetime(2026, 12, 31, 23, 50, tzinfo=BEIJING),
     datetime(2027, 1, 1, 0, tzinfo=BEIJING)),
    # beyond the tolerance it is last year's
    ("01-03 00:00", datetime(2026, 12, 31, 23, 50, tzinfo=BEIJING),
     datetime(2026, 1, 3, 0, tzinfo=BEIJING)),
    # 29 February only exists in 2028: fetched in early 2029 it is 2028's
    ("02-29 08:00", datetime(2029, 1, 5, tzinfo=BEIJING),
     datetime(2028, 2, 29, 8, tzinfo=BEIJING)),
    ("2026-10-14 08:00", datetime(2026, 10, 20, tzinfo=BEIJING),
     datetime(2026, 10, 14, 8, tzinfo=BEIJING)),
])
def test_year_inference(stamp: str, fetched: datetime, expected: datetime) -> None:
    assert reading_time(stamp, fetched, DAY)[0] == expected


@pytest.mark.parametrize("stamp", ["02-30 08:00", "13-01 08:00", "10-14 25:00", "2026/10/14",
                                   "", "--"])
def test_impossible_times_are_refused(stamp: str) -> None:
    ts, why = reading_time(stamp, OCT14, DAY)
    assert ts is None and why


def test_02_29_in_years_without_it_is_refused() -> None:
    ts, why = reading_time("02-29 08:00", datetime(2027, 3, 1, tzinfo=BEIJING), DAY)
    assert ts is None and "no such date before the fetch time 2027-03-01" in why


def test_bad_rows_are_rejected_and_the_rest_loads() -> None:
    result = parse("bad_rows.json")
    frame = result.frame.set_index("section_code")
    reasons = {(r.line, r.field): r for r in result.rejects}
    # line 1 is good
    assert frame.loc["YW002", "nh3n"] == 0.61
    # line 2: fewer cells than the header
    assert "has 7 cells, the header has 17" in reasons[(2, None)].reason
    # line 3: DO span without a title: the cell is refused, the reading stays
    assert "span without the raw value" in reasons[(3, "do")].reason
    assert reasons[(3, "do")].value == "<span>5.9</span>"
    assert pd.isna(frame.loc["YW007", "do"]) and frame.loc["YW007", "tp"] == 0.16
    # line 4: "--" in every item cell: no reading
    assert "every item is missing" in reasons[(4, "tbody")].reason
    assert "YW009" not in frame.index
    # line 5: 02-30
    assert reasons[(5, "监测时间")].value == "02-30 08:00"
    assert "no such date" in reasons[(5, "监测时间")].reason
    # line 6: a negative raw value
    assert "negative value in nh3n" in reasons[(6, "nh3n")].reason
    assert pd.isna(frame.loc["YW015", "nh3n"])
    assert sorted(frame.index) == ["YW002", "YW007", "YW015"]
    assert len(result.rejects) == 5


@pytest.mark.parametrize(("name", "message"), [
    ("broken.json", "not valid JSON"),
    ("no_thead.json", "'thead' is missing"),
    ("wrong_unit_header.json", "unit 个/L is not a unit of this item"),
])
def test_unreadable_pages_are_one_line_errors(name: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse(name)
    assert name in str(info.value) and "\n" not in str(info.value)


def test_gb18030_page_is_read() -> None:
    # Section, city and river names are Chinese: in GB18030 these bytes are not
    # UTF-8, so a UTF-8-only decoder fails here.
    data = (FIXTURES / "realtime_p1.json").read_text(encoding="utf-8").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = parse_pages([Page(data, "gbk.json")], fetched_at=OCT14, tolerance=DAY,
                         max_age=31 * DAY)
    assert result.rejects == []
    taipu = result.frame.set_index("section_code").loc["YW001"]
    assert (taipu["section_name"], taipu["feed_city"], taipu["feed_river"]) == (
        "太浦河苏沪交界", "苏州市", "太浦河")
    assert taipu["tp"] == 0.082


# Both readers of a page: the parser, and the pull's count of rows and pages.
PAGE_READERS = {
    "parse_pages": lambda page: parse_pages([page], fetched_at=OCT14, tolerance=DAY,
                                            max_age=DAY),
    "page_info": page_info,
}


@pytest.mark.parametrize("read", PAGE_READERS.values(), ids=PAGE_READERS)
def test_deeply_nested_page_is_an_input_error(read) -> None:
    # 10,000 levels in place of a cell: a RecursionError traceback before.
    text = (FIXTURES / "realtime_p1.json").read_text(encoding="utf-8")
    deep = "[" * 10_000 + "]" * 10_000
    with pytest.raises(InputError) as caught:
        read(Page(text.replace('"--"', deep, 1).encode(), "deep.json"))
    assert str(caught.value) == "deep.json: JSON nested deeper than 100 levels"


@pytest.mark.parametrize("read", PAGE_READERS.values(), ids=PAGE_READERS)
def test_duplicate_key_in_a_page_is_an_input_error(read) -> None:
    # Read leniently, the last "tbody" (one section) silently replaced the page's.
    text = (FIXTURES / "realtime_p1.json").read_text(encoding="utf-8")
    short = ',"tbody":[["江苏省","太湖流域","太浦河苏沪交界","10-14 08:00","Ⅱ","--","--",' \
            '"--","--","--","--","--","--","--","--","--","正常"]]}'
    data = (text.rstrip().removesuffix("}") + short).encode()
    assert len(json.loads(data)["tbody"]) == 1
    with pytest.raises(InputError, match=r"^dup\.json, row 1: duplicate key 'tbody'"):
        read(Page(data, "dup.json"))


def test_unknown_header_and_missing_columns(tmp_path: Path) -> None:
    page = {"thead": ["省份", "断面名称", "监测时间", "钼(mg/L)"], "tbody": [], "total": 1,
            "records": 0}
    with pytest.raises(InputError, match="钼"):
        parse_pages([Page(json.dumps(page).encode(), "x.json")], fetched_at=OCT14,
                    tolerance=DAY, max_age=DAY)
    page["thead"] = ["省份", "断面名称", "总磷(mg/L)"]
    with pytest.raises(InputError, match="lacks 监测时间"):
        parse_pages([Page(json.dumps(page).encode(), "x.json")], fetched_at=OCT14,
                    tolerance=DAY, max_age=DAY)


def test_header_in_another_unit_of_the_same_kind_is_converted() -> None:
    page = {"thead": ["省份", "断面名称", "监测时间", "叶绿素α(μg/L)", "总磷(mg/L)"],
            "tbody": [["江苏省", "太湖梅梁湖", "10-14 08:00", "41.2", "0.13"]]}
    frame = parse_pages([Page(json.dumps(page, ensure_ascii=False).encode(), "x.json")],
                        fetched_at=OCT14, tolerance=DAY, max_age=DAY).frame
    assert frame.loc[0, "chla"] == pytest.approx(0.0412)
    assert frame.loc[0, "section_code"] == "YW016"  # province spelled 江苏省 or 江苏 alike


@pytest.mark.parametrize(("cell", "value", "problem"), [
    ("<span title='原始值：0.035'>0.04</span>", 0.035, None),
    ('<span class="x" title="原始值:1.5">1.5</span>', 1.5, None),
    ("<span title='原始值：--'>--</span>", None, None),
    ("--", None, None),
    (None, None, None),
    (7.25, 7.25, None),
    ("0.8", 0.8, None),
    ("<span>0.04</span>", None, "span without the raw value (no title)"),
    ("<span title='超标'>0.04</span>", None, "span title '超标' does not hold 原始值"),
    ("<span title='原始值：维护'>维护</span>", None, "not a number"),
    ("<b>0.3", None, "unreadable HTML"),
    ("-0.2", None, "negative value"),
])
def test_cells(cell, value, problem) -> None:
    assert cell_value(cell) == (value, problem)


def test_section_cell_forms() -> None:
    assert section_cell("<span title='所在地市:苏州市;所属河流:太浦河'>太浦河苏沪交界</span>") == (
        "太浦河苏沪交界", "苏州市", "太浦河")
    assert section_cell("<span title='所在地市:无锡市&#10;所属河流:太湖'>太湖梅梁湖</span>") == (
        "太湖梅梁湖", "无锡市", "太湖")
    assert section_cell("<span>望亭</span>") == ("望亭", None, None)
    assert section_cell("望亭") == ("望亭", None, None)
