"""Hostile names and paths, file permissions, and a ledger row for every landed
delivery (issue 11, items 2, 3, 9 and 11)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from envmon.air import ingest as air_ingest
from envmon.air.ingest import ingest_files
from envmon.core import lake
from envmon.core.errors import ConfigError, InputError
from envmon.core.landing import land_bytes, land_file
from envmon.core.sources import Format
from tests.support import stored
from tests.support.feeds import write_china_sites

ENVMON = str(Path(sys.executable).parent / "envmon")
STATIONS = ["9001A", "9002A"]


def envmon(home: Path, *args: str, cwd: Path | None = None, **env: str
           ) -> subprocess.CompletedProcess:
    return subprocess.run([ENVMON, *args], env={**os.environ, "ENVMON_HOME": str(home), **env},
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def ledger(home: Path) -> pd.DataFrame:
    with stored.at(home):
        return stored.ledger_rows()


# --- names that become paths ------------------------------------------------------------


@pytest.mark.parametrize("source", ["../../../../escaped", "a/b", "..", ".hidden", "", "x" * 65,
                                    "with space"])
def test_cli_refuses_a_source_name_that_is_not_one_safe_path_component(
        source: str, tmp_path: Path) -> None:
    home = tmp_path / "deep" / "er" / "home"
    path = write_china_sites(tmp_path / "in", "20261001", STATIONS)
    before = files_under(tmp_path)
    for command in (["ingest", "air", "--format", "china-sites", "--source", source, str(path)],
                    ["pull", "air", "--source", source]):
        done = envmon(home, *command)
        assert done.returncode == 2, done.stdout
        assert "is not allowed: use letters, digits" in done.stderr
        assert "Traceback" not in done.stderr
    assert files_under(tmp_path) == before  # nothing written, inside ENVMON_HOME or out


@pytest.mark.parametrize("bad", ["../x", "a/b", ".."])
def test_names_are_checked_where_they_become_paths(bad: str, envmon_home: Path) -> None:
    with pytest.raises(ConfigError, match="is not allowed"):
        land_bytes(b"x", domain="air", source=bad, name="f.csv")
    with pytest.raises(ConfigError, match="is not allowed"):
        land_bytes(b"x", domain=bad, source="ok", name="f.csv")
    with pytest.raises(ConfigError):
        lake.partition_path(bad, "date", "2026-10-01", "ok")
    with pytest.raises(ConfigError):
        lake.partition_path("air_hourly", "date", "2026-10-01", bad)
    if "/" in bad:  # "date=.." is one harmless directory name; a slash never is
        with pytest.raises(ConfigError):
            lake.partition_path("air_hourly", "date", bad, "ok")
    assert not envmon_home.exists() or not files_under(envmon_home / "landing")


def test_a_configured_source_name_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "air:\n  sources:\n    ../../out:\n      format: china-sites\n      directory: /tmp\n",
        encoding="utf-8")
    done = envmon(tmp_path / "home", "pull", "air", "--source", "../../out",
                  ENVMON_CONFIG_DIR=str(config))
    assert done.returncode == 2 and "is not allowed" in done.stderr
    from envmon.core.config import source_settings

    os.environ["ENVMON_CONFIG_DIR"] = str(config)
    try:
        with pytest.raises(ConfigError, match="air source '../../out' is not allowed"):
            source_settings("air", "../../out")
    finally:
        del os.environ["ENVMON_CONFIG_DIR"]


# --- links and directories ---------------------------------------------------------------


def test_a_symlink_argument_is_refused_unless_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    link = tmp_path / "in" / "china_sites_20261001.csv"
    link.parent.mkdir()
    link.symlink_to(secret)
    done = envmon(home, "ingest", "air", "--format", "china-sites", str(link))
    assert done.returncode == 1
    assert f"envmon: error: {link}: is a symbolic link" in done.stderr
    assert "--follow-symlinks" in done.stderr and "root:x" not in done.stderr + done.stdout
    assert not files_under(home / "landing") and not files_under(home / "ledger")

    real = write_china_sites(tmp_path / "real", "20261001", STATIONS)
    link.unlink()
    link.symlink_to(real)
    followed = envmon(home, "ingest", "air", "--format", "china-sites", "--follow-symlinks",
                      str(link))
    assert followed.returncode == 0, followed.stderr
    assert "48 rows loaded" in followed.stdout


def test_landing_refuses_a_link_even_past_the_cli(envmon_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "passwd"
    target.write_text("root:x:0:0\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(target)
    with pytest.raises(InputError, match="is a symbolic link"):
        land_file(tmp_path / "link.csv", domain="air", source="china-sites")
    with pytest.raises(InputError, match="is a directory"):
        land_file(tmp_path, domain="air", source="china-sites")
    assert land_file(tmp_path / "link.csv", domain="air", source="china-sites",
                     follow_symlinks=True).read_bytes() == b"root:x:0:0\n"


def test_a_directory_argument_says_so(tmp_path: Path) -> None:
    done = envmon(tmp_path / "home", "ingest", "air", "--format", "china-sites", str(tmp_path))
    assert done.returncode == 1
    assert f"envmon: error: {tmp_path}: is a directory" in done.stderr
    missing = envmon(tmp_path / "home", "ingest", "air", "--format", "china-sites",
                     str(tmp_path / "nope.csv"))
    assert "no such file" in missing.stderr


# --- permissions and leftovers --------------------------------------------------------------


def modes(home: Path) -> set[int]:
    """Of every file a load leaves, on either storage (the embedded
    lakehouse's catalog and Parquet are written by DuckDB, not envmon)."""
    found = {p for d in ("lake", "landing", "ledger", "lakehouse") for p in files_under(home / d)}
    if stored.on_lakehouse():
        assert any(p.suffix == ".parquet" for p in files_under(home / "lakehouse"))
    return {stat.S_IMODE(p.stat().st_mode) for p in found}


def test_written_files_are_group_readable_by_default_and_configurable(tmp_path: Path) -> None:
    path = write_china_sites(tmp_path / "in", "20261001", STATIONS)
    default = envmon(tmp_path / "a", "ingest", "air", "--format", "china-sites", str(path))
    assert default.returncode == 0, default.stderr
    assert modes(tmp_path / "a") == {0o640}
    wide = envmon(tmp_path / "b", "ingest", "air", "--format", "china-sites", str(path),
                  ENVMON_FILE_MODE="0644")
    assert wide.returncode == 0 and modes(tmp_path / "b") == {0o644}
    bad = envmon(tmp_path / "c", "ingest", "air", "--format", "china-sites", str(path),
                 ENVMON_FILE_MODE="0044")
    assert bad.returncode == 1 and "ENVMON_FILE_MODE '0044'" in bad.stderr


def test_old_temporaries_are_swept_when_a_load_starts_alone(envmon_home: Path,
                                                            tmp_path: Path) -> None:
    runs = envmon_home / "ledger" / "runs"
    runs.mkdir(parents=True)
    old, fresh = runs / ".x.parquet.abc.tmp", runs / ".y.parquet.def.tmp"
    for leftover in (old, fresh):
        leftover.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    ingest_files([write_china_sites(tmp_path / "in", "20261001", STATIONS)], "china-sites",
                 data_docs=False)
    assert not old.exists()
    assert fresh.exists()  # may belong to a writer still running


# --- a ledger row for every landed delivery ------------------------------------------------


@pytest.mark.parametrize("error", [RecursionError("maximum recursion depth exceeded"),
                                   KeyError("station"), InputError("bad header", file="x")])
def test_any_parser_failure_gets_a_failed_ledger_row(error: Exception, envmon_home: Path,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args, **_kwargs):
        raise error

    monkeypatch.setitem(air_ingest.FORMATS, "china-sites", Format("broken", broken))
    files = [write_china_sites(tmp_path / "in", f"2026100{d}", STATIONS) for d in (1, 2)]
    records = ingest_files(files, "china-sites", data_docs=False)
    assert [r.status for r in records] == ["failed", "failed"]
    runs = ledger(envmon_home)
    assert sorted(runs["files"]) == sorted(f.name for f in files)
    assert (runs["status"] == "failed").all()
    message = runs["message"].iloc[0]
    assert "\n" not in message and ("nested too deeply" in message or "KeyError" in message
                                    or "bad header" in message)


def test_an_error_after_parsing_still_leaves_a_ledger_row(envmon_home: Path, tmp_path: Path
                                                          ) -> None:
    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    path = write_china_sites(tmp_path / "in", "20261001", STATIONS)
    with pytest.MonkeyPatch.context() as disk:  # its own: undoing must keep ENVMON_HOME
        disk.setattr(lake, "upsert_partitions", full_disk)
        with pytest.raises(OSError, match="No space left"):
            ingest_files([path], "china-sites", data_docs=False)
    [row] = ledger(envmon_home).to_dict(orient="records")
    assert row["status"] == "failed" and row["rows_loaded"] == 0
    if stored.on_lakehouse():  # its transaction was undone whole: nothing of it to warn about
        assert "No space left" in row["message"] and "may be in the lake" not in row["message"]
    else:
        assert "while writing the lake" in row["message"]
        assert "load the file again" in row["message"]
    # Not marked as loaded: the same bytes load on the next try.
    [again] = ingest_files([path], "china-sites", data_docs=False)
    assert again.status == "ok" and again.rows_loaded == 48
