"""Files named for a day, through the whole load: the hours the name claims,
rows outside them, and a day that lacks hours (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from envmon.air.ingest import ingest_files
from envmon.air.pull import pull
from envmon.core.timeutil import BEIJING
from tests.support import stored
from tests.support.feeds import SPELLING_2022, write_china_sites, write_cnemc_archive

STATIONS = ["9001A", "9002A", "9016A"]
MISSING = (5, 6, 13, 14, 22)
WARNING = "19 of 24 hours: missing 05, 06, 13, 14, 22"
JAN1 = datetime(2022, 1, 1, tzinfo=BEIJING)


def lake(home: Path) -> pd.DataFrame:
    return stored.lake_rows("air_hourly").rename(columns={"_partition": "_day"})


def ledger_message(home: Path, run_id: str) -> str:
    return stored.run_row(run_id)["message"]


def test_a_cnemc_day_file_loads_its_00_hour(envmon_home: Path, tmp_path: Path) -> None:
    # The publisher's day: timepoints 00:00-23:00 of 1 January. Timepoints label
    # the hour's end, so 00:00 is the last hour of 31 December's natural day.
    path = write_cnemc_archive(tmp_path / "cnemc_20220101.csv",
                               [JAN1 + timedelta(hours=h) for h in range(24)],
                               spelling=SPELLING_2022)
    [record] = ingest_files([path], "cnemc-archive", data_docs=False)
    assert record.status == "ok", record.message
    assert (record.rows_loaded, record.rows_quarantined) == (72, 0)
    rows = lake(envmon_home)
    first = rows[rows["ts"] == pd.Timestamp("2022-01-01 00:00", tz=BEIJING)]
    assert len(first) == 3 and set(first["_day"]) == {"date=2021-12-31"}


def test_a_misnamed_cnemc_file_says_where_its_window_came_from(envmon_home: Path,
                                                                tmp_path: Path) -> None:
    path = write_cnemc_archive(tmp_path / "cnemc_20220105.csv",
                               [JAN1 + timedelta(hours=h) for h in range(24)])
    [record] = ingest_files([path], "cnemc-archive", data_docs=False)
    assert record.status == "failed" and record.rows_quarantined == 72
    reasons = set(stored.quarantine_rows()["reason"])
    assert "timepoint '2022-01-01T0000' is outside the window 2022-01-05 00:00 - 24:00 " \
           "inferred from the file name cnemc_20220105.csv" in reasons


def test_a_day_missing_hours_loads_and_the_run_names_them(envmon_home: Path,
                                                          tmp_path: Path) -> None:
    # No --source: no configured batch checks apply; the day's own claim does.
    path = write_china_sites(tmp_path, "20261001", STATIONS,
                             hours=[h for h in range(24) if h not in MISSING])
    [record] = ingest_files([path], "china-sites", data_docs=False)
    assert record.status == "incomplete" and record.message == WARNING
    assert (record.rows_loaded, record.rows_quarantined) == (57, 0)
    assert len(lake(envmon_home)) == 57
    assert ledger_message(envmon_home, record.run_id) == WARNING


def test_a_cnemc_day_missing_hours_is_incomplete_too(envmon_home: Path, tmp_path: Path) -> None:
    path = write_cnemc_archive(tmp_path / "cnemc_20250101.csv",
                               [datetime(2025, 1, 1, h, tzinfo=BEIJING)
                                for h in range(24) if h not in MISSING])
    [record] = ingest_files([path], "cnemc-archive", data_docs=False)
    assert (record.status, record.message, record.rows_loaded) == ("incomplete", WARNING, 57)


def test_a_whole_day_is_ok(envmon_home: Path, tmp_path: Path) -> None:
    [record] = ingest_files([write_china_sites(tmp_path, "20261001", STATIONS)], "china-sites",
                            data_docs=False)
    assert (record.status, record.message) == ("ok", "")


@pytest.fixture
def drop_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configured directory source `drop` holding a 1 October missing five hours."""
    drop = tmp_path / "drop"
    write_china_sites(drop, "20261001", STATIONS, hours=[h for h in range(24) if h not in MISSING])
    config = tmp_path / "config"
    config.mkdir()
    air = {"hour_label": "ending", "pm_hourly_basis": "hourly", "source_priority": ["drop"],
           "sources": {"drop": {"format": "china-sites", "directory": str(drop)}}}
    (config / "sources.yaml").write_text(yaml.safe_dump({"air": air}), encoding="utf-8")
    monkeypatch.setenv("ENVMON_CONFIG_DIR", str(config))
    return config


def test_a_pull_of_a_day_missing_hours_is_incomplete(envmon_home: Path,
                                                     drop_source: Path) -> None:
    [record] = pull("drop", date(2026, 10, 1), date(2026, 10, 1), data_docs=False)
    assert (record.status, record.message, record.rows_loaded) == ("incomplete", WARNING, 57)


def envmon(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "envmon"), *args],
                          env={**os.environ, "ENVMON_HOME": str(home)}, capture_output=True,
                          text=True, timeout=300)


def test_ingest_warns_and_exits_0_a_pull_exits_3(tmp_path: Path, drop_source: Path) -> None:
    path = drop_source.parent / "drop" / "china_sites_20261001.csv"
    ingest = envmon("ingest", "air", "--format", "china-sites", "--no-data-docs", str(path),
                    home=tmp_path / "a")
    assert ingest.returncode == 0, ingest.stderr
    assert "china_sites_20261001.csv: incomplete, 57 rows loaded" in ingest.stdout
    assert f"warning: {WARNING}" in ingest.stderr
    pulled = envmon("pull", "air", "--source", "drop", "--start", "2026-10-01",
                    "--end", "2026-10-01", "--no-data-docs", home=tmp_path / "b")
    assert pulled.returncode == 3  # a scheduled pull fails, so Airflow retries it
    assert f"warning: {WARNING}" in pulled.stderr
