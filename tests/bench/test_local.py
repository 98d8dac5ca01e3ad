"""`make bench` (benchmarks/local.py) on a tiny size: every step measured, and the floor agrees
with envmon."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks import air, local
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
                      f"{local.RESULTS_START}\nold numbers\n{local.RESULTS_END}\n\ntail kept\n")
    raw = tmp_path / "results.json"

    code = local.main(["--stations", "5", "--days", "2", "--docs-days", "1",
                       "--workdir", str(tmp_path / "work"), "--output", str(output),
                       "--json", str(raw)])

    assert code == 0
    report = output.read_text()
    assert "prose kept" in report and "tail kept" in report and "old numbers" not in report
    for _key, label in local.STEPS:
        assert re.match(rf" {NUMBER} \| {NUMBER} % \|", _row(report, label)), label
    for label in ("envmon ingest, end to end", "envmon peak RSS", "warehouse build (views)",
                  *(q[0] for q in local.QUERIES)):
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
    stations = air.bench_stations(base, 300)
    assert len(stations) == 300
    assert stations["station_code"].is_unique
    extra = stations.iloc[len(base.loc[base["demo"]]):]
    assert extra["station_code"].iloc[0] == f"{air.EXTRA_CODE_START}A"
    assert set(extra["city_code"]) <= set(base["city_code"])
    assert not set(extra["station_code"]) & set(base["station_code"])


def test_bench_refuses_a_workdir_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("keep me")
    with pytest.raises(SystemExit):
        local.main(["--stations", "1", "--days", "1", "--workdir", str(precious),
                    "--output", "-"])
    assert (precious / "data.txt").read_text() == "keep me"
