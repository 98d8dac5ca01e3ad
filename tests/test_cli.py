"""The `envmon` command as a user runs it: exit codes and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import stored
from tests.support.feeds import write_china_sites

ENVMON = str(Path(sys.executable).parent / "envmon")


def envmon(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ENVMON_HOME": str(home)}
    return subprocess.run([ENVMON, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_help_names_every_command(tmp_path: Path) -> None:
    out = envmon("--help", home=tmp_path)
    assert out.returncode == 0
    for command in ("ingest", "pull", "demo", "query", "warehouse", "ENVMON_HOME"):
        assert command in out.stdout
    sub = envmon("ingest", "air", "--help", home=tmp_path)
    assert "china-sites" in sub.stdout and "cnemc-archive" in sub.stdout
    assert "air" in envmon("ingest", "--help", home=tmp_path).stdout


def test_ingest_then_query(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path / "in", "20261001", ["9001A", "9002A"])
    home = tmp_path / "home"
    out = envmon("ingest", "air", "--format", "china-sites", str(path), home=home)
    assert out.returncode == 0, out.stderr
    assert "[1/1] china_sites_20261001.csv: ok, 48 rows loaded, 0 quarantined" in out.stdout
    # read-only, from another directory
    query = envmon("query", "--csv", "SELECT count(*) AS n FROM air_hourly", home=home,
                   cwd=tmp_path)
    assert query.returncode == 0, query.stderr
    assert query.stdout.split() == ["n", "48"]


@pytest.mark.parametrize("body, expected", [
    ("", "china_sites_20261002.csv: empty file"),
    ("when,hour,type,9001A\n1,2,3,4\n", "china_sites_20261002.csv, row 1: header must start"),
])
def test_bad_file_is_one_line_error_and_nonzero(tmp_path: Path, body: str,
                                                expected: str) -> None:
    bad = tmp_path / "china_sites_20261002.csv"
    bad.write_text(body, encoding="utf-8")
    out = envmon("ingest", "air", "--format", "china-sites", str(bad), home=tmp_path / "h")
    assert out.returncode == 1
    assert expected in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_file_and_bad_sql_are_clear(tmp_path: Path) -> None:
    home = tmp_path / "h"
    missing = envmon("ingest", "air", "--format", "china-sites", "nope.csv", home=home)
    assert missing.returncode == 1 and "nope.csv: no such file" in missing.stderr
    no_wh = envmon("query", "SELECT 1", home=home)
    assert no_wh.returncode == 1 and "no warehouse yet" in no_wh.stderr
    envmon("warehouse", home=home)
    bad_sql = envmon("query", "SELEC 1", home=home)
    assert bad_sql.returncode == 1 and "query failed" in bad_sql.stderr
    assert "Traceback" not in bad_sql.stderr
    # the warehouse is read-only to queries
    write = envmon("query", "CREATE TABLE x (a INT)", home=home)
    assert write.returncode == 1 and "read-only" in write.stderr


def test_incomplete_ingest_warns_and_exits_zero(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path / "in", "20261001", ["9001A"], hours=range(5))
    out = envmon("pull", "air", "--source", "nope", "--start", "2026-10-01",
                 "--end", "2026-10-01", home=tmp_path / "h")
    assert out.returncode == 1 and "unknown air source 'nope'" in out.stderr
    partial = envmon("ingest", "air", "--format", "china-sites", "--source", "demo", str(path),
                     home=tmp_path / "h")
    # explicit ingest of files: the rows land, the warning is printed, exit 0
    assert partial.returncode == 0
    assert "incomplete, 5 rows loaded" in partial.stdout
    assert "warning: far fewer stations than expected" in partial.stderr


def _lake(home: Path, dataset: str) -> list[tuple]:
    with stored.at(home):
        rows = stored.lake_rows(dataset).drop(columns="run_id", errors="ignore").astype(object)
    rows = rows.where(rows.notna(), None)  # NaN is not equal to itself; None is
    return sorted(rows.itertuples(index=False, name=None), key=repr)


def test_workers_split_a_backfill_and_load_the_same(tmp_path: Path) -> None:
    stations = ["9001A", "9002A", "9016A"]
    bad_cell = {(5, "PM2.5", "9002A"): "x"}
    files = [str(write_china_sites(tmp_path / "in", f"202610{d:02d}", stations,
                                   override=bad_cell if d == 4 else None)) for d in range(1, 6)]
    alone, split = tmp_path / "alone", tmp_path / "split"
    one = envmon("ingest", "air", "--format", "china-sites", "--no-data-docs", *files,
                 home=alone)
    two = envmon("ingest", "air", "--format", "china-sites", "--no-data-docs", "--workers", "2",
                 *files, home=split)
    assert one.returncode == 0 and two.returncode == 0, two.stderr
    assert two.stdout.count(": ok,") == 5  # every file reported once, by its worker
    assert "[3/3]" in two.stdout and "[2/2]" in two.stdout and "[5/5]" in one.stdout
    for dataset in ("air_hourly", "air_daily_station", "air_daily_city"):
        assert _lake(split, dataset) == _lake(alone, dataset), dataset
    query = envmon("query", "--csv", "SELECT sum(rows_in - rows_loaded - rows_quarantined)::INT AS "
                   "off, sum(rows_quarantined)::INT AS q, count(*) AS runs FROM ingest_runs",
                   home=split)
    assert query.stdout.splitlines()[1] == "0,1,5"


def test_workers_is_only_offered_where_files_load_independently(tmp_path: Path) -> None:
    assert "--workers" in envmon("ingest", "water", "--help", home=tmp_path).stdout
    assert "--workers" not in envmon("ingest", "hazwaste", "--help", home=tmp_path).stdout
    out = envmon("ingest", "air", "--format", "china-sites", "--workers", "0",
                 str(write_china_sites(tmp_path / "in", "20261001", ["9001A"])), home=tmp_path)
    assert out.returncode == 1 and "--workers must be at least 1" in out.stderr


def test_a_reader_that_goes_away_is_not_a_disk_error(tmp_path: Path) -> None:
    """`envmon lakehouse info | head -1`: the pipe closes before envmon writes.
    No "cannot write ... disk" message: the exit status of a process that
    SIGPIPE ended, and nothing on stderr."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before envmon writes a line
    try:
        done = subprocess.run([ENVMON, "lakehouse", "info"], stdout=write, stderr=subprocess.PIPE,
                              env={**os.environ, "ENVMON_HOME": str(tmp_path)}, text=True,
                              timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")
