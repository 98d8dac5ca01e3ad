"""Issue 12, finding 2: a value outside its plausible range costs its cell, not its reading.

Five real readings with DO 25.9-30 mg/L lost their TP, NH3-N and CODMn when
the range was a row check. Now the cell goes to quarantine alone (line,
field, value), the reading keeps its other items and is classified on
them, and `class_complete` / `items_refused` tell the analyst that its class
could be worse. Ledger counts follow air's convention for a bad cell whose
row is kept: the cell is one more row in and one more quarantined.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from envmon.core.settings import CHECKS_DIR
from envmon.core.timeutil import BEIJING
from envmon.domains import build_warehouse
from envmon.water import schema
from envmon.water.sources.cnemc_water import Page, parse_pages
from envmon.water.sources.lab_monthly import parse_lab_monthly
from tests.support import stored
from tests.water.pages import THEAD, page, row, write
from tests.water.test_water_ingest import FIXTURES, ingest, lake, quarantine

DAY = timedelta(days=1)
OCT14 = datetime(2026, 10, 14, 9, 0, tzinfo=BEIJING)
# DO at the supersaturation the publisher's five readings showed, mg/L; at
# 20 ℃ (saturation 9.09 mg/L) each is also 285-330 % of saturation.
HIGH_DO = (25.9, 26.4, 27.8, 28.5, 30.0)


def high_do_page(directory: Path) -> Path:
    """Five readings with an impossible DO, then one without: TP, NH3-N, CODMn all real."""
    rows = [row("YW001", "10-14 08:00", do=HIGH_DO[0], nh3n=1.2, tp=0.12, codmn=4.1),
            row("YW002", "10-14 08:00", do=HIGH_DO[1], nh3n=0.3, tp=0.08, codmn=3.0),
            row("YW009", "10-14 08:00", do=HIGH_DO[2], nh3n=0.4, tp=0.15, codmn=3.5),
            row("YW016", "10-14 08:00", do=HIGH_DO[3], nh3n=0.2, tp=0.04, codmn=3.9),
            row("YW001", "10-14 04:00", do=HIGH_DO[4], nh3n=0.9, tp=0.11, codmn=4.0),
            row("YW002", "10-14 04:00", do=8.1, nh3n=0.3, tp=0.08, codmn=3.0)]
    return write(directory / "cnemc_water_p1.json", rows)


def test_parser_refuses_the_cell_and_keeps_the_reading(tmp_path: Path) -> None:
    path = high_do_page(tmp_path)
    result = parse_pages([Page(path.read_bytes(), path.name)], fetched_at=OCT14, tolerance=DAY,
                         max_age=31 * DAY)
    assert [(r.line, r.field, r.value) for r in result.rejects] == [
        (line, "do", f"<span title='原始值：{value}'>{value}</span>")
        for line, value in enumerate(HIGH_DO, start=1)]
    assert all("outside the plausible range 0-25" in r.reason for r in result.rejects)
    assert all(r.raw and r.raw.startswith('["江苏省"') or r.raw.startswith('["安徽省"')
               for r in result.rejects)
    frame = result.frame.sort_values("source_line").reset_index(drop=True)
    assert len(frame) == 6
    assert list(frame["items_refused"][:5]) == ["do"] * 5 and pd.isna(frame["items_refused"][5])
    assert list(frame["tp"]) == [0.12, 0.08, 0.15, 0.04, 0.11, 0.08]
    assert frame["nh3n"].notna().all() and frame["codmn"].notna().all()


def test_the_reading_is_loaded_and_classified_on_what_remains(envmon_home: Path,
                                                              tmp_path: Path) -> None:
    record = ingest(high_do_page(tmp_path))
    assert record.status == "ok"
    # air's convention: the refused cell is one row in and one quarantined
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (11, 6, 5)
    rows = lake(envmon_home).set_index(["section_code", "ts"]).sort_index()
    at8 = datetime(2026, 10, 14, 8, tzinfo=BEIJING)
    taipu = rows.loc[("YW001", at8)]
    assert pd.isna(taipu["do"]) and pd.isna(taipu["do_saturation_pct"])
    assert (taipu["tp"], taipu["nh3n"], taipu["codmn"]) == (0.12, 1.2, 4.1)
    # NH3-N 1.2 (1.0 < x <= 1.5) is IV; without DO the class could be worse
    assert (taipu["water_class"], taipu["deciding_items"]) == ("IV", "nh3n")
    assert not taipu["class_complete"] and taipu["items_refused"] == "do"
    refused = rows[rows["items_refused"] == "do"]
    assert len(refused) == 5 and refused["do"].isna().all()
    assert refused["tp"].notna().all() and refused["nh3n"].notna().all()
    assert (~refused["class_complete"]).all()
    clean = rows.loc[("YW002", datetime(2026, 10, 14, 4, tzinfo=BEIJING))]
    assert clean["do"] == 8.1 and clean["class_complete"] and pd.isna(clean["items_refused"])
    q = quarantine(envmon_home).sort_values("line")
    assert list(q["line"]) == [1, 2, 3, 4, 5] and set(q["field"]) == {"do"}
    assert set(q["rule"]) == {"parse"}
    assert "28.5" in q["value"].iloc[3] and "28.5" in q["reason"].iloc[3]


def test_the_day_and_month_keep_the_other_items(envmon_home: Path, tmp_path: Path) -> None:
    ingest(high_do_page(tmp_path))
    daily = lake(envmon_home, "water_section_daily").set_index("section_code")
    # 太浦河: both of its readings lost DO; their TP and NH3-N make the day
    assert pd.isna(daily.loc["YW001", "do"])
    assert daily.loc["YW001", "tp"] == pytest.approx(0.115)
    assert daily.loc["YW001", "nh3n"] == pytest.approx(1.05)
    # 急水港: one reading's DO is refused, the other's counts
    assert daily.loc["YW002", "do"] == 8.1


def test_ph_and_do_saturation_refuse_their_cells(envmon_home: Path, tmp_path: Path) -> None:
    # pH 14.5 is not a pH; DO 24 mg/L at 30 ℃ is 317.5 % of saturation (7.559 mg/L)
    path = write(tmp_path / "p.json", [row("YW001", "10-14 08:00", ph=14.5),
                                       row("YW002", "10-14 08:00", water_temp=30.0, do=24.0),
                                       row("YW009", "10-14 08:00")])
    record = ingest(path)
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (5, 3, 2)
    q = quarantine(envmon_home).set_index("field")
    assert sorted(q.index) == ["do", "ph"]
    assert "outside the plausible range 0-14" in q.loc["ph", "reason"]
    assert "318% of saturation at 30 ℃" in q.loc["do", "reason"]
    rows = lake(envmon_home).set_index("section_code")
    assert pd.isna(rows.loc["YW001", "ph"]) and rows.loc["YW001", "items_refused"] == "ph"
    assert pd.isna(rows.loc["YW002", "do"]) and rows.loc["YW002", "water_temp"] == 30.0
    assert not rows.loc["YW001", "class_complete"] and not rows.loc["YW002", "class_complete"]


def test_a_refused_item_outside_the_class_leaves_it_complete(envmon_home: Path,
                                                             tmp_path: Path) -> None:
    # conductivity is stored, never classified; 劣V cannot get worse
    path = write(tmp_path / "p.json", [row("YW001", "10-14 08:00", conductivity=75000.0),
                                       row("YW002", "10-14 08:00", nh3n=2.5, do=28.0)])
    record = ingest(path)
    assert (record.rows_loaded, record.rows_quarantined) == (2, 2)
    rows = lake(envmon_home).set_index("section_code")
    assert rows.loc["YW001", "items_refused"] == "conductivity"
    assert rows.loc["YW001", "class_complete"] and rows.loc["YW001", "water_class"] == "II"
    assert rows.loc["YW002", "items_refused"] == "do"
    assert rows.loc["YW002", "water_class"] == "劣V" and rows.loc["YW002", "class_complete"]


def test_a_reading_with_every_value_refused_is_its_cells(envmon_home: Path,
                                                         tmp_path: Path) -> None:
    cells = row("YW001", "10-14 08:00")
    items = THEAD.index("水温(℃)")
    cells[items:items + 11] = ["--"] * 11
    cells[THEAD.index("溶解氧(mg/L)")] = "<span title='原始值：40'>40</span>"
    cells[THEAD.index("总磷(mg/L)")] = "<span title='原始值：25'>25</span>"
    record = ingest(write(tmp_path / "p.json", [cells, row("YW002", "10-14 08:00")]))
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (3, 1, 2)
    assert sorted(quarantine(envmon_home)["field"]) == ["do", "tp"]
    assert list(lake(envmon_home)["section_code"]) == ["YW002"]


def test_a_malformed_cell_also_marks_the_class_incomplete(envmon_home: Path) -> None:
    ingest(FIXTURES / "cnemc" / "bad_rows.json")
    rows = lake(envmon_home).set_index("section_code")
    # line 3: DO span without its raw value; line 6: negative NH3-N
    assert rows.loc["YW007", "items_refused"] == "do" and not rows.loc["YW007", "class_complete"]
    assert rows.loc["YW015", "items_refused"] == "nh3n"
    assert rows.loc["YW002", "class_complete"] and pd.isna(rows.loc["YW002", "items_refused"])


def test_tp_in_micrograms_is_still_refused_whole(envmon_home: Path) -> None:
    # TP 82-160 "mg/L" is out of range cell by cell, but the delivery-wide
    # check must still see the values as delivered and refuse the delivery.
    record = ingest(FIXTURES / "cnemc" / "tp_in_ug.json")
    assert record.status == "failed" and "TP looks like µg/L" in record.message
    assert record.rows_loaded == 0
    assert record.rows_in == record.rows_quarantined == 6  # 3 readings + 3 TP cells
    assert lake(envmon_home).empty


def test_lab_cell_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "lab_monthly_202610.csv"
    path.write_text("断面编码,采样日期,汞(μg/L),COD(mg/L),氨氮(mg/L)\n"
                    "YW001,2026-10-12,2000,12,0.31\n"
                    "YW002,2026-10-12,0.03,1500,0.52\n", encoding="utf-8")
    result = parse_lab_monthly(path)
    assert [(r.line, r.field, r.value) for r in result.rejects] == [
        (2, "汞(μg/L)", "2000"), (3, "COD(mg/L)", "1500")]
    assert "mercury 2 mg/L" in result.rejects[0].reason
    frame = result.frame.set_index("section_code")
    assert frame.loc["YW001", "items_refused"] == "mercury" and frame.loc["YW001", "cod"] == 12
    assert frame.loc["YW002", "items_refused"] == "cod" and frame.loc["YW002", "nh3n"] == 0.52


def test_ranges_are_data_and_the_row_checks_have_none() -> None:
    from envmon.water.sources.common import cell_ranges

    suite = yaml.safe_load((CHECKS_DIR / "water_readings.yaml").read_text(encoding="utf-8"))
    judged = {e["kwargs"].get("column") for e in suite["row"]}
    assert not judged & {*schema.ITEMS, "do_saturation_pct"}
    ranges = {r.column: r for r in cell_ranges()}
    assert set(schema.ITEMS) <= set(ranges)
    assert (ranges["do"].low, ranges["do"].high) == (0, 25)
    assert ranges["do_saturation_pct"].cell == "do"


def test_warehouse_shows_the_flags(envmon_home: Path, tmp_path: Path) -> None:
    ingest(high_do_page(tmp_path))
    got = stored.query("SELECT count(*) FILTER (NOT class_complete), "
                       "count(*) FILTER (items_refused = 'do') FROM water_readings",
                       path=build_warehouse())
    assert got == [(5, 5)]


def test_a_page_with_the_release_fields_around_it(tmp_path: Path) -> None:
    # result/message/total/records around thead and tbody, as the release writes them
    body = page([row("YW001", "10-14 08:00", tp=25.0)], total=3, records=150)
    assert set(body) == {"result", "message", "thead", "tbody", "total", "records"}
    path = write(tmp_path / "p.json", body["tbody"], total=3, records=150)
    result = parse_pages([Page(path.read_bytes(), path.name)], fetched_at=OCT14, tolerance=DAY,
                         max_age=31 * DAY)
    assert [(r.line, r.field) for r in result.rejects] == [(1, "tp")]
    assert result.frame["items_refused"].tolist() == ["tp"]
