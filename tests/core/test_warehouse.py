"""warehouse.duckdb: views over the lake that analysts open read-only, any time."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from envmon.air.ingest import ingest_files
from envmon.core.warehouse import LAYERS, build, connect_locked, render
from envmon.domains import build_warehouse
from tests.support import stored
from tests.support.feeds import write_china_sites

VIEWS = {"provinces", "cities", "air_stations", "air_hourly", "air_daily_station",
         "air_daily_city", "air_unregistered_stations", "air_aqi_mismatches", "ingest_runs",
         "quarantine"}


def test_empty_warehouse_has_every_view_with_columns(envmon_home: Path) -> None:
    path = build_warehouse()
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


def test_views_live_in_layers_and_keep_their_names_in_main(envmon_home: Path) -> None:
    """raw / curated / marts schemas, each view also unqualified, as docs/warehouse.md lists."""
    path = build_warehouse()
    con = stored.open_warehouse(path)
    try:
        rows = con.sql("SELECT schema_name, view_name, sql FROM duckdb_views() "
                       "WHERE NOT internal AND database_name = current_database()").fetchall()
        layer_of = {v: s for s, v, _ in rows if s != "main"}
        assert set(layer_of.values()) == set(LAYERS)
        assert {v for s, v, _ in rows if s == "main"} == set(layer_of)
        for view, layer in layer_of.items():
            assert (con.sql(f"DESCRIBE main.{view}").fetchall()
                    == con.sql(f"DESCRIBE {layer}.{view}").fetchall()), view
        # A view reads its own layer or those below it, never one above.
        for schema, view, sql in rows:
            if schema in LAYERS:
                above = LAYERS[LAYERS.index(schema) + 1:]
                assert not any(re.search(rf"\b{a}\.", sql) for a in above), (schema, view)
    finally:
        con.close()
    docs = (Path(__file__).resolve().parents[2] / "docs" / "warehouse.md").read_text("utf-8")
    section = docs.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    documented = {name: layer for layer, names in re.findall(
        r"^- \*\*(\w+)\*\*:(.*?)(?=^- \*\*|^$)", section, re.M | re.S)
        for name in re.findall(r"`(\w+)`", names)}
    assert documented == layer_of


def test_lake_tables_come_from_above_core(envmon_home: Path) -> None:
    """Callers pass the lake tables; the SQL names the copies dataset by its grain."""
    from envmon.domains import lake_tables, warehouse_lake_tables

    tables = warehouse_lake_tables()
    assert tables["hw_manifest_copies"].dataset == "hw_manifests" and "hw_manifests" not in tables
    with pytest.raises(KeyError, match="named hw_manifest_copies in warehouse SQL"):
        render("SELECT * FROM {{lake:hw_manifests}}", tables)
    copies = render("SELECT * FROM {{lake:hw_manifest_copies}}", tables)
    assert "lake_schemas/hw_manifests.parquet" in copies  # the stored directory's name
    only_air = {"air_hourly": lake_tables()["air_hourly"]}
    assert "air_hourly" in render("SELECT * FROM {{lake:air_hourly}}", only_air)
    with pytest.raises(KeyError, match="water_readings"):
        render("SELECT * FROM {{lake:water_readings}}", only_air)
    assert build(tables).exists()


def test_core_imports_nothing_above_it() -> None:
    """envmon/core/ depends on no domain, nor on the registry of domains."""
    core = Path(__file__).resolve().parents[2] / "envmon" / "core"
    above = []
    for path in sorted(core.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            above += [f"{path.name}: {n}" for n in names
                      if n.startswith("envmon") and not n.startswith("envmon.core")]
    assert above == []


def test_views_work_from_any_directory(envmon_home: Path, tmp_path: Path) -> None:
    ingest_files([write_china_sites(tmp_path, "20261001", ["9001A"])], "china-sites")
    path = build_warehouse()
    probe = textwrap.dedent(f"""
        from pathlib import Path
        from envmon.core.warehouse import connect_read_only
        con = connect_read_only(Path({str(path)!r}))
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
    path = build_warehouse()
    analyst = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import json, sys, time
            from pathlib import Path
            from envmon.core.warehouse import connect_read_only
            stop = time.time() + 120
            counts, errors = [], []
            while time.time() < stop:
                try:
                    con = connect_read_only(Path({str(path)!r}))
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
        build_warehouse()
    out, err = analyst.communicate(timeout=180)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["n_errors"] == 0, report["errors"] + [err]
    assert report["queries"] > 5
    # A file writes two day partitions, each atomically: its hour 0 into the
    # day before (3 rows), then 69 rows into its own day. Any other count
    # would be a partition seen half-written.
    whole = {72 * i + extra for i in range(7) for extra in (0, 3)}
    assert set(report["counts"]) <= whole, report["counts"]


# ------------------------------------------ the locked connection (envmon query, alert rules)


def home_with_every_kind_of_file(envmon_home: Path, tmp_path: Path) -> Path:
    """Lake, ledger, quarantine (one negative PM2.5 cell) and the alert store, then a build."""
    from envmon.alerts.store import ensure_store

    feed = write_china_sites(tmp_path / "in", "20261001", ["9001A", "9002A"],
                             override={(5, "PM2.5", "9001A"): "-3"})
    [record] = ingest_files([feed], "china-sites", data_docs=False)
    assert record.status == "ok" and record.rows_quarantined == 1, record
    ensure_store()
    return build_warehouse()


def test_locked_connection_answers_every_view(envmon_home: Path, tmp_path: Path) -> None:
    home_with_every_kind_of_file(envmon_home, tmp_path)
    con = connect_locked()
    try:
        views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() "
                                           "WHERE NOT internal ORDER BY 1").fetchall()]
        assert VIEWS <= set(views) and {"alerts", "alert_outbox", "hw_manifests"} <= set(views)
        for view in views:  # every view reads its files through the lock
            con.execute(f'SELECT count(*) FROM "{view}"').fetchall()
        counts = {v: con.execute(f"SELECT count(*) FROM {v}").fetchall()[0][0]
                  for v in ("air_hourly", "ingest_runs", "quarantine", "cities")}
        assert counts == {"air_hourly": 48, "ingest_runs": 1, "quarantine": 1, "cities": 41}
        # The one setting analysts are told to change (docs/warehouse.md) still changes.
        con.execute("SET TimeZone = 'Asia/Shanghai'")
    finally:
        con.close()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('{outside}')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('{landed}')",  # under ENVMON_HOME, but no view reads landing/
    "SELECT * FROM read_csv('{home}/lake/../../outside.csv')",
    "SELECT * FROM glob('{home}/*')",
    "COPY (SELECT 1 AS a) TO '{tmp}/copied.csv'",
    "ATTACH '{tmp}/other.duckdb'",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
])
def test_locked_connection_refuses_files_outside_the_views(envmon_home: Path, tmp_path: Path,
                                                           sql: str) -> None:
    build_warehouse()
    outside = tmp_path / "outside.csv"
    outside.write_text("secret\n42\n", encoding="utf-8")
    landed = write_china_sites(envmon_home / "landing" / "manual", "20261001", ["9001A"])
    con = connect_locked()
    try:
        with pytest.raises(duckdb.Error, match="Permission Error|configuration has been locked"):
            con.execute(sql.format(outside=outside, landed=landed, home=envmon_home,
                                   tmp=tmp_path)).fetchall()
    finally:
        con.close()
    assert not (tmp_path / "copied.csv").exists() and not (tmp_path / "other.duckdb").exists()


def envmon_query(sql: str, home: Path) -> subprocess.CompletedProcess:
    command = str(Path(sys.executable).parent / "envmon")
    return subprocess.run([command, "query", "--csv", sql], capture_output=True, text=True,
                          env={**os.environ, "ENVMON_HOME": str(home)}, timeout=300)


def test_query_command_reads_the_views_and_nothing_else(envmon_home: Path,
                                                        tmp_path: Path) -> None:
    home_with_every_kind_of_file(envmon_home, tmp_path)
    outside = tmp_path / "outside.csv"
    outside.write_text("secret\n42\n", encoding="utf-8")
    lake_file = envmon_home / "lake" / "air_hourly" / "copied.parquet"
    # COPY and EXPORT are refused by kind before they run (the connection
    # itself refuses them outside the views' directories, tested above).
    refused = {
        f"COPY (SELECT 1 AS a) TO '{tmp_path}/copied.csv'": "COPY statement refused",
        # Inside a directory the views read: DuckDB would allow it, envmon does not.
        f"COPY (SELECT 1 AS a) TO '{lake_file}'": "COPY statement refused",
        f"EXPORT DATABASE '{envmon_home}/lake/exported'": "EXPORT statement refused",
        f"SELECT * FROM read_csv('{outside}')": "Permission Error",
        "SET enable_external_access = true; SELECT 1": "configuration has been locked",
        "CREATE TABLE x (a INT)": "read-only",
    }
    for sql, message in refused.items():
        out = envmon_query(sql, envmon_home)
        assert out.returncode == 1, (sql, out.stdout)
        assert "query failed: " in out.stderr and message in out.stderr, (sql, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "copied.csv").exists() and not lake_file.exists()
    assert not (envmon_home / "lake" / "exported").exists()

    views = envmon_query("SET TimeZone = 'Asia/Shanghai'; SELECT (SELECT count(*) FROM "
                         "air_hourly) AS hours, (SELECT count(*) FROM ingest_runs) AS runs, "
                         "(SELECT count(*) FROM alert_outbox) AS outbox", envmon_home)
    assert views.returncode == 0, views.stderr
    assert views.stdout.splitlines() == ["hours,runs,outbox", "48,1,0"]
