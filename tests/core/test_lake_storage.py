"""The lake on the embedded lakehouse (ENVMON_STORAGE=lakehouse): the same
loads as on Parquet files give the same warehouse, with nothing under lake/,
and a load commits whole or not at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envmon.core import lakehouse
from tests.support.feeds import write_china_sites

ROOT = Path(__file__).resolve().parents[2]
STATIONS = ["9001A", "9002A", "9016A"]
VIEWS = ("air_hourly", "air_daily_station", "air_daily_city")


@pytest.fixture
def lake_home(envmon_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVMON_STORAGE", "lakehouse")
    return envmon_home


def ingest(path: Path):
    from envmon.air.ingest import ingest_files

    [record] = ingest_files([path], "china-sites")
    return record


def view_rows(query: str) -> list[tuple]:
    """A view's rows (or a SELECT's), sorted, after a warehouse build."""
    from envmon.core.warehouse import connect_read_only
    from envmon.domains import build_warehouse

    build_warehouse()
    con = connect_read_only()
    try:
        sql = query if query.startswith("SELECT") else f"SELECT * FROM {query}"
        result = con.execute(sql)
        # Run ids are new per run: two homes loading one file differ there only.
        keep = [i for i, d in enumerate(result.description) if d[0] != "run_id"]
        return sorted((tuple(row[i] for i in keep) for row in result.fetchall()), key=repr)
    finally:
        con.close()


def test_storage_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVMON_STORAGE", "s3")
    with pytest.raises(Exception, match="ENVMON_STORAGE='s3'"):
        lakehouse.active()


def test_same_views_as_on_files_and_nothing_under_lake(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    feed = write_china_sites(tmp_path, "20261001", STATIONS)
    seen = {}
    for storage in ("files", "lakehouse"):
        monkeypatch.setenv("ENVMON_HOME", str(tmp_path / storage))
        monkeypatch.setenv("ENVMON_STORAGE", storage)
        record = ingest(feed)
        assert record.status == "ok", record.message
        seen[storage] = {view: view_rows(view) for view in VIEWS}
        seen[storage]["runs"] = view_rows(
            "SELECT dataset, source, files, sha256, rows_in, rows_loaded, rows_quarantined, "
            "status FROM ingest_runs")
        seen[storage]["quarantine"] = view_rows("SELECT line, field, rule, reason FROM quarantine")
    assert seen["lakehouse"] == seen["files"]
    assert len(seen["files"]["air_hourly"]) == 72 and seen["files"]["air_daily_station"]
    assert not list((tmp_path / "lakehouse" / "lake").rglob("*.parquet"))
    assert not (tmp_path / "lakehouse" / "ledger" / "runs").exists()
    data = list((tmp_path / "lakehouse" / "lakehouse" / "data").rglob("*.parquet"))
    assert data, "the lakehouse wrote no data files"


def test_same_file_twice_is_a_duplicate(lake_home: Path, tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", STATIONS)
    first, second = ingest(path), ingest(path)
    assert (first.status, second.status) == ("ok", "duplicate")
    assert first.run_id in second.message
    assert len(view_rows("air_hourly")) == 72
    # The delivery's bytes are on the lakehouse once, as received.
    con = lakehouse.connect(read_only=True)
    try:
        landed = con.execute("SELECT domain, source, sha256, name, bytes FROM lake.landing"
                             ).fetchall()
    finally:
        con.close()
    assert [row[:4] for row in landed] == [("air", "china-sites", first.sha256, path.name)]
    assert landed[0][4] == path.read_bytes()


def test_a_correction_replaces_the_rows_it_carries(lake_home: Path, tmp_path: Path) -> None:
    ingest(write_china_sites(tmp_path, "20261001", STATIONS))
    corrected = tmp_path / "corrected"
    corrected.mkdir()
    ingest(write_china_sites(corrected, "20261001", STATIONS[:1],
                             override={(h, "PM2.5", "9001A"): "90" for h in range(24)}))
    rows = view_rows("SELECT station_code, pm25 FROM air_hourly WHERE date = DATE '2026-10-01'")
    by_station = {}
    for station, pm25 in rows:
        by_station.setdefault(station, set()).add(pm25)
    assert by_station["9001A"] == {90}
    assert by_station["9002A"] == {40}
    assert len(view_rows("air_hourly")) == 72


def test_a_load_killed_before_its_commit_leaves_nothing(lake_home: Path,
                                                        tmp_path: Path) -> None:
    """The lake rows, marts, quarantine and ledger row are one transaction."""
    path = write_china_sites(tmp_path, "20261001", STATIONS)
    env = {**os.environ, "ENVMON_FAULT": "after-lake-write"}
    killed = subprocess.run([sys.executable, "-m", "envmon.cli", "ingest", "air", "--format",
                             "china-sites", str(path)], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert view_rows("air_hourly") == [] and view_rows("air_daily_station") == []
    assert view_rows("ingest_runs") == []
    again = ingest(path)
    assert again.status == "ok", again.message
    assert len(view_rows("air_hourly")) == 72
    assert [r[0] for r in view_rows("SELECT status FROM ingest_runs")] == ["ok"]


def test_two_processes_load_overlapping_files_once(lake_home: Path, tmp_path: Path) -> None:
    days = [f"202610{d:02d}" for d in range(1, 7)]
    for day in days:
        write_china_sites(tmp_path, day, STATIONS)
    files = sorted(str(p) for p in tmp_path.glob("china_sites_*.csv"))
    # Both processes load days 3-4: each is loaded once, the other run a duplicate.
    halves = [files[:4], files[2:]]
    procs = [subprocess.Popen([sys.executable, "-m", "envmon.cli", "ingest", "air",
                               "--format", "china-sites", *half], cwd=ROOT, env=dict(os.environ),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for half in halves]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    hourly = view_rows("SELECT station_code, ts FROM air_hourly")
    assert len(hourly) == len(set(hourly)) == 72 * len(days)
    runs = view_rows("SELECT sha256, status, rows_in, rows_loaded, rows_quarantined "
                     "FROM ingest_runs")
    loaded = [r for r in runs if r[1] == "ok"]
    assert len(loaded) == len({r[0] for r in loaded}) == len(days)
    assert sorted(r[1] for r in runs).count("duplicate") == 2
    assert all(r[2] == r[3] + r[4] for r in runs)


def _pm25_of_9001a() -> set:
    return {v for (v,) in view_rows("SELECT pm25 FROM air_hourly WHERE station_code = '9001A'")}


def _corrected(tmp_path: Path) -> Path:
    directory = tmp_path / "corrected"
    directory.mkdir(exist_ok=True)
    return write_china_sites(directory, "20261001", STATIONS[:1],
                             override={(h, "PM2.5", "9001A"): "90" for h in range(24)})


def test_rollback_of_a_correction_puts_back_what_it_replaced(lake_home: Path,
                                                             tmp_path: Path) -> None:
    from envmon.core.rollback import rollback

    first = ingest(write_china_sites(tmp_path, "20261001", STATIONS))
    daily_before = view_rows("air_daily_station")
    correction = ingest(_corrected(tmp_path))
    assert _pm25_of_9001a() == {90}
    assert view_rows("air_daily_station") != daily_before

    # The first run's rows were replaced by the correction: not alone.
    with pytest.raises(Exception, match=f"later runs changed rows it wrote.*{correction.run_id}"):
        rollback(first.run_id)
    result = rollback(correction.run_id)
    assert result.tables["air_hourly"] == (24, 24)
    assert _pm25_of_9001a() == {40}
    assert view_rows("air_daily_station") == daily_before
    statuses = dict(view_rows("SELECT run_id AS run, status FROM ingest_runs"))
    assert statuses == {first.run_id: "ok", correction.run_id: "rolled_back"}
    with pytest.raises(Exception, match="already rolled back"):
        rollback(correction.run_id)
    # The bytes are no longer counted as loaded: the same file loads again.
    again = ingest(_corrected(tmp_path))
    assert again.status == "ok" and _pm25_of_9001a() == {90}


def test_the_warehouse_as_of_a_past_snapshot(lake_home: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    from envmon.cli import main
    from envmon.core.warehouse import connect_read_only

    ingest(write_china_sites(tmp_path, "20261001", STATIONS))
    con = lakehouse.connect(read_only=True)
    try:
        before = lakehouse.snapshots(con)[-1].snapshot_id
    finally:
        con.close()
    ingest(_corrected(tmp_path))
    assert _pm25_of_9001a() == {90}
    past = connect_read_only(as_of=before)
    try:
        assert {v for (v,) in past.execute(
            "SELECT DISTINCT pm25 FROM air_hourly WHERE station_code = '9001A'").fetchall()} \
            == {40}
    finally:
        past.close()
    sql = "SELECT DISTINCT pm25 FROM air_hourly WHERE station_code = '9001A'"
    assert main(["query", "--csv", "--as-of", str(before), sql]) == 0
    assert capsys.readouterr().out.split() == ["pm25", "40.0"]
    assert main(["query", "--csv", sql]) == 0
    assert capsys.readouterr().out.split() == ["pm25", "90.0"]


@pytest.mark.files_layout  # what the files storage says when asked for a past time
def test_as_of_needs_the_lakehouse(envmon_home: Path, tmp_path: Path) -> None:
    from envmon.core.errors import EnvmonError
    from envmon.core.warehouse import connect_read_only

    ingest(write_china_sites(tmp_path, "20261001", STATIONS))
    view_rows("air_hourly")
    with pytest.raises(EnvmonError, match="needs the lakehouse"):
        connect_read_only(as_of=1)


def test_the_cli_init_file_attaches_the_lake_to_the_warehouse(
        lake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`duckdb -readonly -init warehouse.attach.sql warehouse.duckdb` (the CLI
    is not installed here): the file's statements, run on a plain read-only
    connection to the warehouse, make its views read the lakehouse."""
    import duckdb

    from envmon.core.warehouse import attach_file
    from envmon.domains import build_warehouse

    assert ingest(write_china_sites(tmp_path, "20261001", STATIONS)).status == "ok"
    path = build_warehouse()
    statements = attach_file(path).read_text(encoding="utf-8").strip().splitlines()
    con = duckdb.connect(str(path), read_only=True,
                         config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    try:
        with pytest.raises(duckdb.CatalogException, match="lake"):
            con.execute("SELECT count(*) FROM air_hourly").fetchall()
        for statement in statements:
            con.execute(statement)
        assert con.execute("SELECT count(*) FROM air_hourly").fetchall() == [(72,)]
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("DELETE FROM lake.air_hourly")
    finally:
        con.close()
    monkeypatch.setenv("ENVMON_STORAGE", "files")  # on files the views need no init file
    build_warehouse()
    assert not attach_file(path).exists()


def test_a_home_loaded_on_files_stays_on_files_unless_told(
        envmon_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ENVMON_HOME loaded before the lakehouse became the default keeps
    showing what it loaded: without ENVMON_STORAGE it stays on files."""
    monkeypatch.setenv("ENVMON_STORAGE", "files")
    ingest(write_china_sites(tmp_path, "20261001", STATIONS))
    monkeypatch.delenv("ENVMON_STORAGE")
    assert lakehouse.storage() == "files"
    assert len(view_rows("air_hourly")) == 24 * len(STATIONS)
    monkeypatch.setenv("ENVMON_STORAGE", "lakehouse")  # said outright: a lakehouse beside it
    assert lakehouse.storage() == "lakehouse" and view_rows("air_hourly") == []
    monkeypatch.delenv("ENVMON_STORAGE")  # now that it has one, the lakehouse it is
    assert lakehouse.storage() == "lakehouse"
    monkeypatch.setenv("ENVMON_HOME", str(tmp_path / "new"))
    assert lakehouse.storage() == "lakehouse"


def test_a_host_s_warehouse_is_built_when_missing_and_when_a_table_appeared(
        lake_home: Path, tmp_path: Path) -> None:
    """With no shared disk each host has its own warehouse file, which another
    host's loads do not rebuild: opening it builds it when it is missing, and
    again when the lakehouse holds a table its build did not see (a view would
    read an empty stand-in for it until then)."""
    from envmon.core.errors import EnvmonError
    from envmon.core.warehouse import connect_read_only

    with pytest.raises(EnvmonError, match="no warehouse yet"):
        connect_read_only()  # an empty home builds nothing
    assert ingest(write_china_sites(tmp_path / "a", "20261001", STATIONS)).status == "ok"
    assert not (lake_home / "warehouse.duckdb").exists()
    con = connect_read_only()
    try:
        assert con.execute("SELECT count(*) FROM air_hourly").fetchall() == [(72,)]
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]
    finally:
        con.close()
    # The first water delivery creates the water tables, after that build.
    from datetime import datetime, timedelta, timezone

    from envmon.demo.sources import water_release
    from envmon.water.ingest import ingest_files as ingest_water

    at = datetime(2026, 10, 1, 0, 30, tzinfo=timezone(timedelta(hours=8)))
    records = ingest_water(water_release(tmp_path / "water", at, 2026), "cnemc-water",
                           data_docs=False)
    assert records and all(r.status == "ok" for r in records), records
    loaded = sum(r.rows_loaded for r in records)
    con = connect_read_only()
    try:
        assert con.execute("SELECT count(*) FROM water_readings").fetchall() == [(loaded,)]
    finally:
        con.close()


def test_alert_store_and_commitment_status_are_lakehouse_tables(lake_home: Path) -> None:
    """What workers on other hosts must see alike is in the lakehouse, not under ENVMON_HOME."""
    from datetime import UTC, datetime

    from envmon.alerts import store
    from envmon.core import lake_tables
    from envmon.core.warehouse import connect_read_only
    from envmon.domains import build_warehouse
    from envmon.reporting.status import StatusRun, write

    now = datetime(2026, 11, 1, tzinfo=UTC)
    row = {"outbox_id": "n1:duty", "notice_id": "n1", "alert_id": "a1", "kind": "raised",
           "channel": "duty", "status": "pending", "created_at": now, "attempts": 0,
           "next_attempt_at": now, "payload": "{}"}
    with store.store_lock():
        store.write("outbox", [row])
        store.write("outbox", [{**row, "status": "sent", "sent_at": now, "attempts": 1}])
        assert store.append_events([{"event_id": "n1:duty#1", "at": now, "event": "delivered"}]
                                   * 2) == 1
        assert store.append_events([{"event_id": "n1:duty#1", "at": now}]) == 0
    status = {"report_period": "2026-10", "indicator": "pm25_mean", "region": "yrd",
              "period": "2026", "value": 31.0}
    write(StatusRun("2026-10", now.date(), [status, {**status, "region": "320000"}], 0.1))
    write(StatusRun("2026-09", now.date(), [{**status, "report_period": "2026-09"}], 0.1))
    write(StatusRun("2026-10", now.date(), [{**status, "value": 30.0}], 0.1))  # replaces 2026-10
    assert not (lake_home / "alerts").exists() and not (lake_home / "reporting").exists()
    assert lake_tables.row_count("alert_outbox") == 1
    [sent] = store.read("outbox")
    assert (sent["status"], sent["attempts"], sent["sent_at"]) == ("sent", 1, now)
    build_warehouse()
    con = connect_read_only()
    try:
        assert con.execute("SELECT status FROM alert_outbox").fetchall() == [("sent",)]
        assert con.execute("SELECT event FROM alert_events").fetchall() == [("delivered",)]
        assert con.execute("SELECT report_period, region, value FROM commitment_status "
                           "ORDER BY 1").fetchall() == [("2026-09", "yrd", 31.0),
                                                        ("2026-10", "yrd", 30.0)]
    finally:
        con.close()
