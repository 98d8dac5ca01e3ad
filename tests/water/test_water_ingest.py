"""Water deliveries through the whole load: landing, checks, lake, marts, quarantine, ledger."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from envmon.core.landing import land_bytes
from envmon.core.timeutil import BEIJING
from envmon.domains import build_warehouse
from envmon.water.ingest import ingest_files
from tests.support import stored
from tests.water.pages import row, write

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "water"
FETCHED = datetime(2026, 10, 14, 9, 0, tzinfo=BEIJING)


def lake(home: Path, dataset: str = "water_readings") -> pd.DataFrame:
    return stored.lake_rows(dataset)


def quarantine(home: Path) -> pd.DataFrame:
    return stored.quarantine_rows()


def ingest(path: Path, fmt: str = "cnemc-water", **kwargs):
    kwargs.setdefault("data_docs", False)
    if fmt == "cnemc-water":
        kwargs.setdefault("fetched_at", FETCHED)
    [record] = ingest_files([path], fmt, **kwargs)
    return record


def test_release_pages_load_with_envmon_classes(envmon_home: Path) -> None:
    first = ingest(FIXTURES / "cnemc" / "realtime_p1.json")
    second = ingest(FIXTURES / "cnemc" / "realtime_p2.json")
    assert (first.status, second.status) == ("ok", "ok")
    assert first.rows_in == first.rows_loaded + first.rows_quarantined == 3
    rows = lake(envmon_home).set_index("section_code")
    assert len(rows) == 5
    assert set(rows["_partition"]) == {"date=2026-10-14"}
    assert set(rows["source"]) == {"cnemc-water"}
    # 太湖梅梁湖 is a lake: TP 0.132 is class V on the lake table (0.1 < x <= 0.2)
    meiliang = rows.loc["YW016"]
    assert (meiliang["water_body"], meiliang["water_class"]) == ("lake", "V")
    assert meiliang["deciding_items"] == "tp" and meiliang["tn_class"] == "V"
    assert meiliang["registered"] and meiliang["province_code"] == "320000"
    unknown = rows.loc["unregistered:山东:二级坝"]
    assert not unknown["registered"] and unknown["water_class"] == "III"
    assert unknown["water_body"] == "lake"  # river name 南四湖 ends in 湖
    daily = lake(envmon_home, "water_section_daily")
    assert len(daily) == 5 and set(daily["_partition"]) == {"date=2026-10-14"}
    monthly = lake(envmon_home, "water_section_monthly")
    assert len(monthly) == 5 and set(monthly["_partition"]) == {"month=2026-10"}


def test_feed_class_is_kept_and_disagreement_flagged(envmon_home: Path, tmp_path: Path) -> None:
    # The publisher says II, but NH3-N 0.8 is class III (0.5 < x <= 1.0).
    path = write(tmp_path / "p.json", [row("YW001", "10-14 08:00", "Ⅱ", nh3n=0.8)])
    ingest(path)
    got = lake(envmon_home).iloc[0]
    assert (got["feed_class"], got["water_class"], got["class_mismatch"]) == ("II", "III", True)


def test_same_file_twice_and_a_corrected_redelivery(envmon_home: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "v1" / "p.json", [row("YW001", "10-14 08:00"),
                                              row("YW002", "10-14 08:00")])
    first = ingest(path)
    before = stored.lake_state()
    again = ingest(path)
    assert again.status == "duplicate" and first.run_id in again.message
    assert stored.lake_state() == before
    fixed = write(tmp_path / "v2" / "p.json", [row("YW001", "10-14 08:00", tp=0.31)])
    assert ingest(fixed).status == "ok"
    rows = lake(envmon_home).set_index("section_code")
    assert len(rows) == 2 and rows.loc["YW001", "tp"] == 0.31
    assert rows.loc["YW001", "water_class"] == "V"  # river TP 0.3 < 0.31 <= 0.4
    # the old bytes stay in landing
    landed = [p for p in (envmon_home / "landing" / "water").rglob("*.json")
              if not p.name.endswith(".meta.json")]
    assert len(landed) == 2


def test_bad_rows_go_to_quarantine_with_reasons(envmon_home: Path) -> None:
    record = ingest(FIXTURES / "cnemc" / "bad_rows.json")
    assert record.status == "ok"
    assert record.rows_in == record.rows_loaded + record.rows_quarantined
    assert (record.rows_loaded, record.rows_quarantined) == (3, 5)
    q = quarantine(envmon_home)
    assert set(q["rule"]) == {"parse"}
    by_line = q.set_index("line")
    assert "02-30" in by_line.loc[5, "value"] and by_line.loc[5, "field"] == "监测时间"
    assert by_line.loc[3, "field"] == "do"
    assert set(q["file"]) == {"bad_rows.json"}


def test_broken_json_fails_and_keeps_what_was_loaded(envmon_home: Path) -> None:
    assert ingest(FIXTURES / "cnemc" / "realtime_p1.json").status == "ok"
    broken = ingest(FIXTURES / "cnemc" / "broken.json")
    assert broken.status == "failed" and "broken.json" in broken.message
    assert "not valid JSON" in broken.message
    assert len(lake(envmon_home)) == 3


def test_readings_outside_the_window_are_quarantined(envmon_home: Path) -> None:
    # fetched two months later, the October readings are older than 31 days
    late = datetime(2026, 12, 20, 9, 0, tzinfo=BEIJING)
    record = ingest(FIXTURES / "cnemc" / "realtime_p1.json", fetched_at=late)
    assert record.status == "failed" and record.rows_quarantined == 3
    assert set(quarantine(envmon_home)["field"]) == {"ts"}


def test_fetch_time_from_landed_metadata_then_mtime(envmon_home: Path, tmp_path: Path) -> None:
    source = FIXTURES / "cnemc" / "year_boundary.json"
    # 1. the file's modification time: 1 January 2027 -> 31 December is 2026's
    copy = tmp_path / "year_boundary.json"
    copy.write_bytes(source.read_bytes())
    stamp = datetime(2027, 1, 1, 6, 0, tzinfo=BEIJING).timestamp()
    os.utime(copy, (stamp, stamp))
    [record] = ingest_files([copy], "cnemc-water", data_docs=False)
    assert record.status == "ok"
    assert sorted(lake(envmon_home)["ts"]) == [datetime(2026, 12, 31, 20, tzinfo=BEIJING),
                                               datetime(2027, 1, 1, 4, tzinfo=BEIJING)]


def test_landed_fetched_at_wins_over_mtime(envmon_home: Path, tmp_path: Path) -> None:
    page = write(tmp_path / "p.json", [row("YW001", "12-31 20:00")])
    # the same bytes were landed by a pull fetched on 2 January 2028
    land_bytes(page.read_bytes(), domain="water", source="cnemc-water", name="p.json",
               meta={"fetched_at": "2028-01-02T00:10:00+08:00"})
    [record] = ingest_files([page], "cnemc-water", data_docs=False)  # mtime: today
    assert record.status == "ok"
    assert lake(envmon_home).iloc[0]["ts"] == datetime(2027, 12, 31, 20, tzinfo=BEIJING)


def test_lab_and_automatic_readings_make_one_month(envmon_home: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "p.json", [row("YW001", "10-14 08:00", tp=0.1, nh3n=0.2)])
    ingest(path)
    lab = ingest(FIXTURES / "lab" / "lab_monthly_202610.csv", fmt="lab-monthly")
    assert lab.status == "ok" and lab.rows_loaded == 3
    month = lake(envmon_home, "water_section_monthly").set_index("section_code")
    taipu = month.loc["YW001"]
    # TP: automatic 0.1 and laboratory 0.08 -> 0.09; COD only from the lab: 12
    assert taipu["tp"] == pytest.approx(0.09) and taipu["cod"] == 12.0
    assert taipu["n_readings"] == 2 and taipu["sources"] == "cnemc-water,lab-monthly"
    # 黄浦江松浦大桥 (lab only): COD 21 (20 < x <= 30) and BOD5 4.2 (4 < x <= 6) make
    # it IV; fecal coliform 45,000 per L (> 40,000) is worse than V on its own
    # scale but left out of the class
    yw022 = month.loc["YW022"]
    assert (yw022["water_class"], yw022["deciding_items"]) == ("IV", "cod,bod5")
    assert yw022["fecal_coliform_class"] == "劣V"
    # 太湖梅梁湖 from the lab, chl-a 0.035 mg/L and SD 0.4 m: a five-parameter TLI
    assert month.loc["YW016", "tli_params"] == "chla,tp,tn,sd,codmn"


def test_warehouse_views(envmon_home: Path) -> None:
    ingest(FIXTURES / "cnemc" / "realtime_p1.json")
    ingest(FIXTURES / "cnemc" / "realtime_p2.json")
    with stored.warehouse(build_warehouse()) as con:
        assert con.execute("SELECT count(*) FROM water_readings").fetchall() == [(5,)]
        assert con.execute("SELECT section_code FROM water_unregistered_sections"
                           ).fetchall() == [("unregistered:山东:二级坝",)]
        region = con.execute("SELECT sections_assessed, sections_compliant, compliance_rate "
                             "FROM water_compliance_monthly WHERE scope = 'region'").fetchall()
        # YW001 (II vs III) and YW009 (III vs III) are the cross-boundary sections here
        assert region == [(2, 2, 1.0)]
        share = con.execute("SELECT sections, sections_i_iii, sections_worse_than_v "
                            "FROM water_quality_share_monthly").fetchall()
        assert share == [(5, 4, 0)]  # 太湖梅梁湖 is V
        comp = con.execute("SELECT section_code, amount_cny, payer_code FROM water_compensation "
                           "ORDER BY 1").fetchall()
        assert comp == [("YW001", 0.0, None), ("YW009", 0.0, None)]
        month = con.execute("SELECT DISTINCT month FROM water_section_monthly").fetchall()
        assert month == [("2026-10",)]


def test_quarantine_raw_is_json(envmon_home: Path) -> None:
    ingest(FIXTURES / "cnemc" / "bad_rows.json")
    raws = quarantine(envmon_home)["raw"]
    assert all(isinstance(json.loads(r), list) for r in raws)


def test_empty_warehouse_has_the_water_views(envmon_home: Path) -> None:
    con = stored.open_warehouse(build_warehouse())
    try:
        for view in ("water_readings", "water_section_daily", "water_section_monthly",
                     "water_compensation", "water_compensation_factors",
                     "water_compliance_monthly", "water_quality_share_monthly",
                     "water_unregistered_sections", "water_class_mismatches"):
            assert con.execute(f"SELECT count(*) FROM {view}").fetchall() == [(0,)], view
        columns = [r[0] for r in con.execute("DESCRIBE water_section_monthly").fetchall()]
        assert {"section_code", "month", "water_class", "target_class", "compliant",
                "deciding_items", "tli"} <= set(columns)
    finally:
        con.close()


@pytest.mark.files_layout  # on the lakehouse a load and its sums commit together
def test_month_redoes_days_whose_sums_are_missing(envmon_home: Path, tmp_path: Path) -> None:
    # A lake from before the daily sums (or a load killed before its derive)
    # has a day without sums: the month must still count that day's readings.
    ingest(write(tmp_path / "a.json", [row("YW001", "10-13 08:00", nh3n=0.4)]))
    sums = envmon_home / "lake" / "water_section_daily_sums" / "date=2026-10-13"
    [made] = sums.glob("*.parquet")
    made.unlink()
    ingest(write(tmp_path / "b.json", [row("YW001", "10-14 08:00", nh3n=1.2)]))
    month = lake(envmon_home, "water_section_monthly").set_index("section_code").loc["YW001"]
    assert (month["n_readings"], month["n_days"]) == (2, 2)
    assert month["nh3n"] == pytest.approx(0.8) and month["water_class"] == "III"
    assert made.exists()
