"""Integrity drills of the audit (issue 11): hazardous-waste loads at once, kills at
exact points, reconcile after a crash.

Every drill runs the real `envmon` command (or the DAG's task functions) in
separate processes and compares the outcome with the same deliveries loaded
one after another: nothing lost, nothing loaded twice, the ledger balanced.
Exact interleavings come from the loader's named points (envmon/core/faults.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.support import stored
from tests.support.feeds import write_china_sites

ENVMON = str(Path(sys.executable).parent / "envmon")
STATIONS = [f"91{n:02d}A" for n in range(1, 11)]
DAYS = (date(2026, 10, 10), date(2026, 10, 11))


def run(home: Path, *args: str, env: dict | None = None, wait: bool = True
        ) -> subprocess.Popen | subprocess.CompletedProcess:
    full = {**os.environ, "ENVMON_HOME": str(home), **(env or {})}
    command = [ENVMON, *args]
    if wait:
        return subprocess.run(command, env=full, capture_output=True, text=True, timeout=600)
    return subprocess.Popen(command, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err


def ledger(home: Path) -> pd.DataFrame:
    with stored.at(home):
        return stored.ledger_rows()


def lake(home: Path, dataset: str, drop: tuple[str, ...] = ("run_id",)) -> pd.DataFrame:
    with stored.at(home):
        frame = stored.lake_rows(dataset)
    frame = frame.drop(columns=[c for c in drop if c in frame])
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


# --- hazardous waste: loads at once -------------------------------------------------------


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from envmon.demo.hazwaste import generate_exports

    return generate_exports(tmp_path_factory.mktemp("hw-feeds"), DAYS[0], DAYS[-1], seed=2026)


@pytest.fixture(scope="module")
def sequential(exports: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the two exports loaded one after the other."""
    home = tmp_path_factory.mktemp("hw-sequential")
    for path in exports:
        done = run(home, "ingest", "hazwaste", "--format", "manifest-json", "--source", "demo",
                   "--no-data-docs", str(path))
        assert done.returncode == 0, done.stderr
    return home


HW_TABLES = ("hw_manifests", "hw_waste_lines", "hw_events", "hw_manifest_state",
             "hw_anomalies")


def assert_same_hazwaste(home: Path, reference: Path) -> None:
    for table in HW_TABLES:
        pd.testing.assert_frame_equal(lake(home, table), lake(reference, table),
                                      obj=table)
    runs = ledger(home)
    assert (runs["rows_in"] == runs["rows_loaded"] + runs["rows_quarantined"]).all()
    loaded = runs[runs["status"].isin(["ok", "incomplete"])]
    assert loaded["sha256"].is_unique, "an export was loaded twice"


@pytest.mark.slow
def test_two_consecutive_exports_at_once_match_one_after_the_other(
        exports: list[Path], sequential: Path, tmp_path: Path) -> None:
    """The older export stops between its stale-version check and its write (8 s);
    the newer one reaches its write 3 s into that window. Unguarded, the older
    one then overwrote the newer versions and events (the audit's rollback)."""
    home = tmp_path / "home"
    older, newer = exports
    flags = ["ingest", "hazwaste", "--format", "manifest-json", "--source", "demo",
             "--no-data-docs"]
    first = run(home, *flags, str(older), wait=False,
                env={"ENVMON_PAUSE": "hazwaste-after-stale-check=8"})
    second = run(home, *flags, str(newer), wait=False,
                 env={"ENVMON_PAUSE": "before-store=3"})
    finish([first, second])
    assert_same_hazwaste(home, sequential)


@pytest.mark.slow
def test_same_export_twice_at_once_is_loaded_once(exports: list[Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    flags = ["ingest", "hazwaste", "--format", "manifest-json", "--source", "demo",
             "--no-data-docs", str(exports[0])]
    finish([run(home, *flags, wait=False, env={"ENVMON_PAUSE": "before-store=2"})
            for _ in range(2)])
    assert sorted(ledger(home)["status"]) == ["duplicate", "ok"]
    manifests = lake(home, "hw_manifests")
    assert not manifests.duplicated(["manifest_no", "version", "source"]).any()


DAG_RUN = """
from datetime import datetime
from envmon.hazwaste.tasks import detect_anomalies, pull_for_interval
from envmon.core.timeutil import BEIJING
pull_for_interval("demo", datetime(2026, 10, 12, tzinfo=BEIJING))
detect_anomalies()
"""


@pytest.mark.slow
def test_manual_load_during_a_dag_run(exports: list[Path], sequential: Path,
                                      tmp_path: Path) -> None:
    """The DAG's tasks load the export of 11 October (the demo source writes the
    same bytes) while an operator loads 10 October by hand."""
    home = tmp_path / "home"
    env = {**os.environ, "ENVMON_HOME": str(home),
           "ENVMON_PAUSE": "hazwaste-after-stale-check=4"}
    dag = subprocess.Popen([sys.executable, "-c", DAG_RUN], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    manual = run(home, "ingest", "hazwaste", "--format", "manifest-json", "--source", "demo",
                 "--no-data-docs", str(exports[0]), wait=False,
                 env={"ENVMON_PAUSE": "before-store=2"})
    finish([dag, manual])
    assert_same_hazwaste(home, sequential)


# --- kills at exact points -----------------------------------------------------------------


def air_files(directory: Path) -> list[Path]:
    return [write_china_sites(directory, f"202610{d:02d}", STATIONS) for d in (1, 2, 3)]


def ingest_air(home: Path, files: list[Path], **env: str) -> subprocess.CompletedProcess:
    return run(home, "ingest", "air", "--format", "china-sites", "--no-data-docs",
               *map(str, files), env=env)


WATER_PAGES = [Path(__file__).resolve().parents[1] / "fixtures" / "water" / "cnemc" / name
               for name in ("realtime_p1.json", "realtime_p2.json")]


def kill_drill_case(domain: str, tmp_path: Path) -> tuple[list[str], list[Path], str]:
    """(ingest arguments, files, lake dataset whose rows carry run ids) per domain."""
    if domain == "air":
        return (["air", "--format", "china-sites"], air_files(tmp_path / "in"), "air_hourly")
    if domain == "water":
        return (["water", "--format", "cnemc-water", "--fetched-at",
                 "2026-10-31T20:00:00+08:00"], WATER_PAGES, "water_readings")
    from envmon.demo.hazwaste import generate_exports

    return (["hazwaste", "--format", "manifest-json", "--source", "demo"],
            generate_exports(tmp_path / "in", DAYS[0], DAYS[-1], seed=2026), "hw_manifests")


@pytest.mark.slow
@pytest.mark.parametrize("domain", ["air", "water", "hazwaste"])
@pytest.mark.parametrize("point", ["after-lake-write", "before-ledger-row",
                                   "after-ledger-row"])
def test_kill_at_a_point_then_rerun_counts_each_file_once(domain: str, point: str,
                                                          tmp_path: Path) -> None:
    home = tmp_path / "home"
    args, files, dataset = kill_drill_case(domain, tmp_path)
    command = ["ingest", *args, "--no-data-docs", *map(str, files)]
    killed = run(home, *command, env={"ENVMON_FAULT": point})
    assert killed.returncode == -9, killed.stderr
    rerun = run(home, *command)
    assert rerun.returncode == 0, rerun.stderr

    runs = ledger(home)
    assert (runs["rows_in"] == runs["rows_loaded"] + runs["rows_quarantined"]).all()
    loaded = runs[runs["status"].isin(["ok", "incomplete"])]
    assert sorted(loaded["files"]) == sorted(f.name for f in files), runs[["status", "files"]]
    # Every lake row is owned by a run the ledger says loaded it.
    owners = set(lake(home, dataset, drop=())["run_id"])
    assert owners <= set(loaded["run_id"])
    if domain == "air":
        assert loaded["rows_loaded"].sum() == len(lake(home, dataset)) == 3 * 24 * len(STATIONS)
    done = run(home, "reconcile")
    assert done.returncode == 0 and "consistent" in done.stdout, done.stdout


@pytest.mark.files_layout  # reconcile reads the files layout (docs/lakehouse.md)
def test_reconcile_names_an_interrupted_run_until_it_is_loaded_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = air_files(tmp_path / "in")[:1]
    assert ingest_air(home, files, ENVMON_FAULT="after-lake-write").returncode == -9
    leftover = home / "ledger" / "runs" / ".20261001T000000-deadbeef.parquet.x1.tmp"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a file")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))

    found = run(home, "reconcile")
    assert found.returncode == 3, found.stdout + found.stderr
    assert "removed 1 leftover temporary file(s)" in found.stdout
    assert "interrupted: run" in found.stdout and "china_sites_20261001.csv" in found.stdout
    assert str(home / "landing" / "air" / "china-sites") in found.stdout
    assert f"unaccounted: {24 * len(STATIONS)} air_hourly row(s)" in found.stdout
    assert not leftover.exists()

    assert ingest_air(home, files).returncode == 0
    again = run(home, "reconcile")
    assert again.returncode == 0, again.stdout
    assert "1 interrupted run(s) since loaded again" in again.stdout
    assert not list((home / "ledger" / "started").glob("*.json"))


def test_reconcile_on_the_lakehouse_names_a_killed_load_until_it_is_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the lakehouse a killed load leaves no rows and no ledger row, only
    its landed file: reconcile names it, with the command to load it."""
    monkeypatch.setenv("ENVMON_STORAGE", "lakehouse")
    home = tmp_path / "home"
    files = air_files(tmp_path / "in")[:2]
    assert ingest_air(home, files[:1]).returncode == 0
    assert ingest_air(home, files[1:], ENVMON_FAULT="after-lake-write").returncode == -9
    found = run(home, "reconcile")
    assert found.returncode == 3, found.stdout + found.stderr
    landed = sorted((home / "landing" / "air" / "china-sites").glob("*.csv"))
    assert len(landed) == 2
    named = [line for line in found.stdout.splitlines() if line.startswith("interrupted: ")]
    [killed] = [p for p in landed if str(p) in named[0]]
    assert named == [f"interrupted: {killed} was landed here but no load committed it; load "
                     f"it again: envmon ingest air --source china-sites --format FORMAT {killed}"]

    assert ingest_air(home, files[1:]).returncode == 0
    again = run(home, "reconcile")
    assert again.returncode == 0 and "consistent" in again.stdout, again.stdout


@pytest.mark.files_layout
def test_reconcile_refuses_while_a_load_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = air_files(tmp_path / "in")
    load = run(home, "ingest", "air", "--format", "china-sites", "--no-data-docs",
               *map(str, files), wait=False, env={"ENVMON_PAUSE": "after-lake-write=6"})
    deadline = time.time() + 120
    while not list((home / "ledger" / "started").glob("*.json")):
        assert time.time() < deadline and load.poll() is None
        time.sleep(0.2)
    busy = run(home, "reconcile")
    finish([load])
    assert busy.returncode == 1
    assert "another envmon load or refresh is running" in busy.stderr
