"""`make bench` on a tiny size: every step measured, and the floor agrees with envmon."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from envmon import bench, bench_national
from envmon.core.reference import load_air_stations

NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"


def _row(report: str, label: str) -> str:
    """The table row whose first cell is `label` (fails the test if absent)."""
    match = re.search(rf"^\| {re.escape(label)} \|(.*)$", report, re.M)
    assert match, f"no table row for {label!r} in the report:\n{report}"
    return match.group(1)


def test_tiny_bench_measures_every_step_and_balances(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The caller's ENVMON_HOME must stay untouched: the bench works in --workdir.
    user_home = tmp_path / "user_home"
    monkeypatch.setenv("ENVMON_HOME", str(user_home))
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\nprose kept\n\n"
                      f"{bench.RESULTS_START}\nold numbers\n{bench.RESULTS_END}\n\ntail kept\n")
    raw = tmp_path / "results.json"

    code = bench.main(["--stations", "5", "--days", "2", "--docs-days", "1",
                       "--workdir", str(tmp_path / "work"), "--output", str(output),
                       "--json", str(raw)])

    assert code == 0
    report = output.read_text()
    assert "prose kept" in report and "tail kept" in report and "old numbers" not in report
    for _key, label in bench.STEPS:
        assert re.match(rf" {NUMBER} \| {NUMBER} % \|", _row(report, label)), label
    for label in ("envmon ingest, end to end", "envmon peak RSS", "warehouse build (views)",
                  *(q[0] for q in bench.QUERIES)):
        assert re.match(rf" {NUMBER}", _row(report, label)), label
    assert re.search(rf"^\| ratio envmon / floor \(\d+ thread\(s\)\), end to end \| {NUMBER}x",
                     report, re.M)
    assert re.search(rf"\| floor, DuckDB CSV -> Parquet, 1 thread\(s\) \| {NUMBER} s", report)
    assert re.search(rf"DAG file parse < 1 s .*air_quality\.py {NUMBER} s", report)
    # The Data Docs price: one file each way is noise, so it may come out negative.
    assert re.search(rf"[+-]{NUMBER} s per file", report)

    result = json.loads(raw.read_text())
    summary = result["summary"]
    # Two independent counts of the same station-hours: DuckDB reading the
    # floor's Parquet (rows with at least one usable kept pollutant), and
    # envmon's ledger (loaded) plus the rows its checks refused.
    warehouse = result["warehouse"]
    assert summary["floor_usable_rows"] > 0
    assert summary["floor_usable_rows"] == summary["loaded"] + warehouse["quarantine_checks"]
    assert summary["loaded"] == warehouse["air_hourly_rows"]
    assert summary["quarantined"] == warehouse["quarantine_parse"] + warehouse["quarantine_checks"]
    assert all(check["ok"] for check in result["checks"]), result["checks"]
    assert len(result["ingest"]["runs"]) == 2
    assert not user_home.exists()
    assert not (tmp_path / "work").exists()  # removed without --keep


def test_bench_stations_derives_registered_copies() -> None:
    base = load_air_stations()
    stations = bench.bench_stations(base, 300)
    assert len(stations) == 300
    assert stations["station_code"].is_unique
    extra = stations.iloc[len(base.loc[base["demo"]]):]
    assert extra["station_code"].iloc[0] == f"{bench.EXTRA_CODE_START}A"
    assert set(extra["city_code"]) <= set(base["city_code"])
    assert not set(extra["station_code"]) & set(base["station_code"])


def test_bench_refuses_a_workdir_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("keep me")
    with pytest.raises(SystemExit):
        bench.main(["--stations", "1", "--days", "1", "--workdir", str(precious),
                    "--output", "-"])
    assert (precious / "data.txt").read_text() == "keep me"


# --- bench_national (issue 7's scale benchmark) ---

def test_derived_sections_keep_template_and_get_unique_feed_names() -> None:
    rows = [{"section_code": "YW001", "section_name": "甲", "feed_name": "", "name_en": "A",
             "province_code": "320000", "cross_boundary": "true", "demo": "false"},
            {"section_code": "YW002", "section_name": "乙", "feed_name": "乙站", "name_en": "B",
             "province_code": "330000", "cross_boundary": "false", "demo": "true"}]
    out = bench_national.derived_sections(rows, 5)
    assert [r["section_code"] for r in out] == ["YW001", "YW002", "BW00001", "BW00002",
                                                "BW00003"]
    # Copy 3 repeats template 1 (index 2 % 2 == 0): same province and flag, new feed name.
    assert out[4]["province_code"] == "320000" and out[4]["cross_boundary"] == "true"
    assert out[4]["feed_name"] == "甲3号" and out[3]["feed_name"] == "乙站2号"
    assert len({(r["province_code"], r["feed_name"] or r["section_name"]) for r in out}) == 5


def test_write_sections_is_a_valid_registry(tmp_path: Path, monkeypatch) -> None:
    count = bench_national.write_sections(tmp_path, 60)
    assert count == 60
    with (tmp_path / "water" / "sections.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 60
    # The water registry loader accepts it (unique codes and feed names per province).
    from envmon.water.reference import clear_cache, load_sections

    monkeypatch.setenv("ENVMON_REFERENCE_DIR", str(tmp_path))
    clear_cache()
    try:
        sections = load_sections()
        # the demo sections are the templates: targets and boundary pairs for the marts
        assert len(sections) == 60 and sections["demo"].all()
        assert sections["cross_boundary"].sum() > 0 and sections["target_class"].notna().any()
    finally:
        monkeypatch.delenv("ENVMON_REFERENCE_DIR")
        clear_cache()


def test_tiny_water_run_balances_with_the_floor(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    output.write_text(f"# B\n\n{bench.RESULTS_START}\nair kept\n{bench.RESULTS_END}\n")
    code = bench_national.main(["water", "--days", "1", "--sections", "30", "--no-profile",
                                "--no-dagbag", "--workdir", str(tmp_path / "work"),
                                "--results", str(tmp_path / "res"), "--output", str(output)])
    assert code == 0
    result = json.loads((tmp_path / "res" / "water.json").read_text())
    ingest, floor = result["ingest"], result["floor"]
    assert result["files"] == 6  # one fetch every 4 hours
    assert ingest["statuses"] == {"ok": 6}
    # The floor keeps every tbody row; envmon loads each reading once (none is
    # refused whole in the demo: a bad cell is quarantined, its row kept), and
    # the ledger's rows_in counts those refused cells on top.
    assert floor["rows"] == ingest["rows_loaded"] > 0
    assert ingest["rows_in"] == ingest["rows_loaded"] + ingest["rows_quarantined"]
    text = output.read_text()
    assert "air kept" in text  # the air results block is not touched
    assert bench_national.START_MARK in text and "water_compliance_monthly" in text
    assert not (tmp_path / "work" / "water").exists()
