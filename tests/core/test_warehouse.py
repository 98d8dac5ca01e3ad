"""warehouse.duckdb: views over the lake that analysts open read-only, any time."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from pipelines.air.ingest import ingest_files
from pipelines.core.warehouse import build
from tests.support.feeds import write_china_sites

VIEWS = {"provinces", "cities", "air_stations", "air_hourly", "air_daily_station",
         "air_daily_city", "air_unregistered_stations", "air_aqi_mismatches", "ingest_runs",
         "quarantine"}


def test_empty_warehouse_has_every_view_with_columns(envmon_home: Path) -> None:
    path = build()
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = {r[0] for r in con.sql("SELECT view_name FROM duckdb_views() "
                                       "WHERE NOT internal").fetchall()}
        assert VIEWS <= names
        for view in ("air_hourly", "air_daily_city", "ingest_runs", "quarantine"):
            assert con.execute(f"SELECT count(*) FROM {view}").fetchall() == [(0,)]
        columns = [r[0] for r in con.sql("DESCRIBE air_hourly").fetchall()]
        assert columns[:5] == ["station_code", "city_code", "province_code", "registered", "ts"]
        assert con.execute("SELECT count(*) FROM cities").fetchall() == [(41,)]
    finally:
        con.close()


def test_views_work_from_any_directory(envmon_home: Path, tmp_path: Path) -> None:
    ingest_files([write_china_sites(tmp_path, "20261001", ["9001A"])], "china-sites")
    path = build()
    probe = textwrap.dedent(f"""
        import duckdb
        con = duckdb.connect({str(path)!r}, read_only=True)
        print(con.execute("SELECT count(*) FROM air_hourly").fetchall()[0][0])
        print(con.execute("SELECT ts_beijing::VARCHAR FROM air_hourly "
                          "ORDER BY ts LIMIT 1").fetchall()[0][0])
    """)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["24", "2026-10-01 00:00:00"]


def test_analyst_reads_while_loads_and_rebuilds_run(envmon_home: Path, tmp_path: Path) -> None:
    """A read-only analyst process queries in a loop while files load and the
    warehouse is rebuilt: no query fails, and counts only grow by whole files."""
    stations = ["9001A", "9002A", "9003A"]
    files = [write_china_sites(tmp_path / "in", f"202610{d:02d}", stations) for d in range(1, 7)]
    ingest_files(files[:1], "china-sites")
    path = build()
    analyst = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import json, sys, time, duckdb
            stop = time.time() + 120
            counts, errors = [], []
            while time.time() < stop:
                try:
                    con = duckdb.connect({str(path)!r}, read_only=True)
                    counts.append(con.execute("SELECT count(*) FROM air_hourly").fetchall()[0][0])
                    con.close()
                except Exception as exc:
                    errors.append(repr(exc))
                if sys.stdin.closed:
                    break
                if counts and counts[-1] == 6 * 72:
                    break
            print(json.dumps({{"counts": sorted(set(counts)), "queries": len(counts),
                              "errors": errors[:3], "n_errors": len(errors)}}))
        """)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for path_in in files[1:]:
        ingest_files([path_in], "china-sites")
        build()
    out, err = analyst.communicate(timeout=180)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["n_errors"] == 0, report["errors"] + [err]
    assert report["queries"] > 5
    # A file writes two day partitions, each atomically: its hour 0 into the
    # day before (3 rows), then 69 rows into its own day. Any other count
    # would be a partition seen half-written.
    whole = {72 * i + extra for i in range(7) for extra in (0, 3)}
    assert set(report["counts"]) <= whole, report["counts"]
