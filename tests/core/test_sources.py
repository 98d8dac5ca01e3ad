"""One fetch for every domain's configured sources (envmon/core/sources.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from envmon.core.errors import ConfigError, SourceError
from envmon.core.sources import daily_file, directory_files, generate


def test_a_generator_is_a_source_kind_whatever_the_source_is_called(envmon_home: Path,
                                                                    tmp_path: Path) -> None:
    cfg = {"generator": "envmon.demo.sources:air_day", "directory": str(tmp_path / "feeds"),
           "seed": 3}
    landed = daily_file("air", "bureau-test", cfg, "china_sites_20261003.csv", date(2026, 10, 3))
    assert landed.name == "china_sites_20261003.csv"
    written = tmp_path / "feeds" / "china_sites_20261003.csv"
    assert landed.path.read_bytes() == written.read_bytes()
    # Asked again, the generator does not write the day anew: same bytes, same landing.
    mtime = written.stat().st_mtime_ns
    assert daily_file("air", "bureau-test", cfg, written.name, date(2026, 10, 3)).sha256 \
        == landed.sha256
    assert written.stat().st_mtime_ns == mtime


def test_a_source_named_demo_without_a_generator_is_a_directory(envmon_home: Path,
                                                                tmp_path: Path) -> None:
    cfg = {"directory": str(tmp_path / "empty")}
    with pytest.raises(SourceError, match="not delivered yet"):
        daily_file("air", "demo", cfg, "china_sites_20261003.csv", date(2026, 10, 3))


@pytest.mark.parametrize("spec", ["envmon.demo.sources", "envmon.demo.sources:nothing",
                                  "no.such.module:write"])
def test_a_bad_generator_is_a_config_error(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ConfigError, match="not a module:function"):
        generate({"generator": spec, "directory": str(tmp_path)}, date(2026, 10, 3))


def test_directory_files_match_the_pattern_and_say_when_none_do(tmp_path: Path) -> None:
    (tmp_path / "lab_monthly_202610.csv").write_text("x", encoding="utf-8")
    (tmp_path / "lab_monthly_202610.csv.meta.json").write_text("{}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    cfg = {"directory": str(tmp_path), "pattern": "lab_monthly_*"}
    assert [p.name for p in directory_files(cfg)] == ["lab_monthly_202610.csv"]
    with pytest.raises(SourceError, match=r"nothing delivered matching \*.json"):
        directory_files({"directory": str(tmp_path / "none"), "pattern": "*.json"})
