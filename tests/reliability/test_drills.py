"""Reliability drills: killed loads, concurrent loads, failing disks, corrections.

Each drill runs the real `envmon` command in separate processes where the
point is about processes (a kill, two loads at once) and checks the lake
with pyarrow and the ledger with DuckDB afterwards.
"""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from envmon.air.ingest import ingest_files
from envmon.domains import build_warehouse
from tests.support import stored
from tests.support.feeds import write_china_sites

ENVMON = str(Path(sys.executable).parent / "envmon")
STATIONS = [f"90{n:02d}A" for n in range(1, 21)]


def lake(home: Path) -> pd.DataFrame:
    with stored.at(home):
        return stored.lake_rows("air_hourly")


def ledger(home: Path) -> list[tuple]:
    with stored.at(home):
        runs = stored.ledger_rows()
    columns = ["status", "rows_in", "rows_loaded", "rows_quarantined", "files", "sha256"]
    return list(runs[columns].itertuples(index=False, name=None))


def start_ingest(home: Path, paths: list[Path], *extra: str) -> subprocess.Popen:
    env = {**os.environ, "ENVMON_HOME": str(home)}
    return subprocess.Popen([ENVMON, "ingest", "air", "--format", "china-sites", "--no-data-docs",
                             *extra, *map(str, paths)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = [write_china_sites(tmp_path / "in", f"202610{d:02d}", STATIONS) for d in range(1, 7)]
    rng = random.Random(20261126)
    kills = 0
    for _ in range(6):
        proc = start_ingest(home, files)
        time.sleep(rng.uniform(0.5, 6.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 3, "the drill should interrupt most runs"
    final = start_ingest(home, files)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err

    rows = lake(home)
    assert len(rows) == 6 * 24 * len(STATIONS)
    assert not rows.duplicated(["station_code", "ts", "source"]).any()
    # Temporary files are hidden from the lake's globs and every visible file is whole.
    for part in (home / "lake").rglob("*.parquet"):
        pq.read_metadata(part)
    for _status, rows_in, loaded, quarantined, _, _ in ledger(home):
        assert rows_in == loaded + quarantined
    loaded_shas = {r[5] for r in ledger(home) if r[0] == "ok"}
    assert len(loaded_shas) == 6


def test_two_backfills_sharing_files_at_the_same_time(tmp_path: Path) -> None:
    """Each command locks its whole group's delivery stripes: taken in one
    order, two overlapping groups wait for each other instead of deadlocking,
    and a shared file is loaded by one of them only."""
    home = tmp_path / "home"
    files = [write_china_sites(tmp_path / "in", f"202610{d:02d}", STATIONS) for d in range(1, 7)]
    procs = [start_ingest(home, files[:4]), start_ingest(home, files[2:][::-1])]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    rows = lake(home)
    assert len(rows) == 6 * 24 * len(STATIONS)
    assert not rows.duplicated(["station_code", "ts", "source"]).any()
    runs = ledger(home)
    assert sorted(r[0] for r in runs) == ["duplicate"] * 2 + ["ok"] * 6
    assert len({r[5] for r in runs if r[0] == "ok"}) == 6


def test_same_file_twice_at_the_same_time(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_china_sites(tmp_path / "in", "20261001", STATIONS)
    procs = [start_ingest(home, [path]) for _ in range(2)]
    for proc in procs:
        proc.communicate(timeout=300)
        assert proc.returncode == 0
    assert len(lake(home)) == 24 * len(STATIONS)
    statuses = sorted(r[0] for r in ledger(home))
    assert statuses == ["duplicate", "ok"]


def test_corrected_redelivery_visible_in_ledger(envmon_home: Path, tmp_path: Path) -> None:
    first = write_china_sites(tmp_path / "v1", "20261001", STATIONS)
    ingest_files([first], "china-sites")
    second = write_china_sites(tmp_path / "v2", "20261001", STATIONS,
                               override={(9, "PM2.5", "9003A"): "88"})
    ingest_files([second], "china-sites")
    runs = ledger(envmon_home)
    assert [r[0] for r in runs] == ["ok", "ok"]
    assert runs[0][4] == runs[1][4] == "china_sites_20261001.csv"
    assert runs[0][5] != runs[1][5]
    rows = lake(envmon_home)
    assert rows.loc[(rows["station_code"] == "9003A") & (rows["ts"].dt.hour == 9),
                    "pm25"].tolist() == [88]
    assert len(list((envmon_home / "landing" / "air" / "china-sites").glob("*.csv"))) == 2


@pytest.mark.files_layout  # fails pyarrow's writes; DuckLake writes through DuckDB
def test_failing_disk_leaves_previous_partition_intact(envmon_home: Path,
                                                       tmp_path: Path) -> None:
    ingest_files([write_china_sites(tmp_path / "v1", "20261001", STATIONS)], "china-sites")
    before = {p: p.read_bytes() for p in (envmon_home / "lake").rglob("*.parquet")}

    import pyarrow.parquet as pq_module

    real_write = pq_module.write_table

    def failing_write(table, where, *args, **kwargs):
        real_write(table.slice(0, 1), where, *args, **kwargs)  # a partial file on disk...
        raise OSError(28, "No space left on device")           # ...then the disk fills up

    corrected = write_china_sites(tmp_path / "v2", "20261001", STATIONS,
                                  override={(3, "PM2.5", "9001A"): "77"})
    with pytest.MonkeyPatch.context() as disk:
        disk.setattr(pq_module, "write_table", failing_write)
        with pytest.raises(OSError, match="No space left"):
            ingest_files([corrected], "china-sites")

    after = {p: p.read_bytes() for p in (envmon_home / "lake").rglob("*.parquet")}
    assert after == before
    leftovers = [p for p in (envmon_home / "lake").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    build_warehouse()  # the warehouse still reads the lake
    con = stored.open_warehouse(envmon_home / "warehouse.duckdb")
    assert con.execute("SELECT count(*) FROM air_hourly").fetchall() == [(24 * len(STATIONS),)]
    con.close()


def test_disk_error_is_a_clear_cli_error(tmp_path: Path) -> None:
    """A file-size limit (RLIMIT_FSIZE) makes every larger write fail with EFBIG."""
    home = tmp_path / "home"
    ok = start_ingest(home, [write_china_sites(tmp_path / "in", "20261001", STATIONS)])
    ok.communicate(timeout=300)
    with stored.at(home):
        before = stored.lake_state()

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    corrected = write_china_sites(tmp_path / "v2", "20261001", STATIONS,
                                  override={(3, "PM2.5", "9001A"): "77"})
    env = {**os.environ, "ENVMON_HOME": str(home)}
    proc = subprocess.run([ENVMON, "ingest", "air", "--format", "china-sites", "--no-data-docs",
                           str(corrected)], env=env, capture_output=True, text=True,
                          preexec_fn=small_disk, timeout=300)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "envmon: error: cannot write" in proc.stderr and "File too large" in proc.stderr
    with stored.at(home):
        assert stored.lake_state() == before


def test_two_domains_ingest_at_the_same_time(tmp_path: Path) -> None:
    """Air and water loads in parallel processes, each rebuilding the warehouse."""
    home = tmp_path / "home"
    env = {**os.environ, "ENVMON_HOME": str(home)}
    air_files = [write_china_sites(tmp_path / "air", f"202610{d:02d}", STATIONS)
                 for d in range(1, 4)]
    water_page = Path(__file__).resolve().parents[1] / "fixtures" / "water" / "cnemc" / \
        "realtime_p1.json"
    air = start_ingest(home, air_files)
    water = subprocess.Popen(
        [ENVMON, "ingest", "water", "--format", "cnemc-water", "--no-data-docs",
         "--fetched-at", "2026-10-31T20:00:00+08:00", str(water_page)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for proc in (air, water):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    con = stored.open_warehouse(home / "warehouse.duckdb")
    try:
        assert con.execute("SELECT count(*) FROM air_hourly").fetchall() == [
            (3 * 24 * len(STATIONS),)]
        assert con.execute("SELECT count(*) FROM water_readings").fetchall()[0][0] > 0
        runs = con.execute("SELECT dataset, status, rows_in = rows_loaded + rows_quarantined "
                           "FROM ingest_runs").fetchall()
    finally:
        con.close()
    assert {d for d, _, _ in runs} == {"air_hourly", "water_readings"}
    assert all(balanced for _, _, balanced in runs)
