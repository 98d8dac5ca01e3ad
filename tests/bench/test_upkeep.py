"""`make bench-upkeep` (benchmarks/upkeep.py) on a tiny size: the upkeep merges and deletes
files after a day of pulls and changes no answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import upkeep


def test_a_day_file_splits_into_growing_pulls(tmp_path: Path) -> None:
    day = tmp_path / "china_sites_20250101.csv"
    day.write_text("date,hour,type,1001A\n" + "".join(
        f"20250101,{h},PM2.5,{h + 10}\n20250101,{h},AQI,{h + 20}\n" for h in range(24)))

    pulls = upkeep.split_into_pulls(day, tmp_path / "pulls", 4)

    hours = [sorted({int(line.split(",")[1]) for line in p.read_text().splitlines()[1:]})
             for p in pulls]
    assert hours == [list(range(6)), list(range(12)), list(range(18)), list(range(24))]
    assert all(p.name == day.name for p in pulls)
    assert pulls[-1].read_text() == day.read_text()


def test_tiny_upkeep_bench_merges_deletes_and_keeps_every_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVMON_HOME", str(tmp_path / "user_home"))
    output = tmp_path / "benchmarks.md"
    output.write_text(f"# Benchmarks\n\nprose kept\n\n{upkeep.RESULTS_START}\nold\n"
                      f"{upkeep.RESULTS_END}\n")
    raw = tmp_path / "upkeep.json"

    code = upkeep.main(["--stations", "3", "--days", "2", "--pulls-per-day", "3",
                        "--workdir", str(tmp_path / "work"), "--output", str(output),
                        "--json", str(raw)])

    assert code == 0
    result = json.loads(raw.read_text())
    assert [c["name"] for c in result["checks"] if not c["ok"]] == []
    done = result["upkeep"]
    assert done["files_after"] < done["files_before"] and done["files_deleted"] > 0
    assert result["before"]["digests"] == result["after"]["digests"]
    assert result["before"]["air_hourly_rows"] == sum(result["loads"]["rows_loaded"][2::3]) > 0
    assert len(result["loads"]["walls"]) == 6 and len(result["next_day"]["walls"]) == 3
    report = output.read_text()
    assert "prose kept" in report and "\nold\n" not in report
    assert f"| live data files | {done['files_before']:,} | {done['files_after']:,} |" in report
    assert not (tmp_path / "work").exists()  # thrown away without --keep
    assert not (tmp_path / "user_home").exists()  # the caller's home untouched
