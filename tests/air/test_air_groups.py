"""Several air files in one command are checked and written as one group
(core.ingest.run_deliveries); each must still come out as if loaded alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from envmon.air.ingest import ingest_files
from tests.support import stored
from tests.support.feeds import write_china_sites

STATIONS = ["9001A", "9002A", "9016A"]


def lake(home: Path) -> pd.DataFrame:
    return stored.lake_rows("air_hourly")


def quarantine(home: Path) -> pd.DataFrame:
    return stored.quarantine_rows()


def test_a_correction_in_the_same_command_wins(envmon_home: Path, tmp_path: Path) -> None:
    first = write_china_sites(tmp_path / "a", "20261001", STATIONS)
    fixed = write_china_sites(tmp_path / "b", "20261001", STATIONS,
                              override={(9, "PM2.5", "9001A"): "55"})
    records = ingest_files([first, fixed], "china-sites", data_docs=False)
    # Same keys in two files of one group: not a uniqueness failure, the later file wins.
    assert [r.status for r in records] == ["ok", "ok"]
    assert [r.rows_loaded for r in records] == [72, 72]
    rows = lake(envmon_home)
    assert len(rows) == 72
    assert rows.loc[rows["pm25"] == 55, "run_id"].tolist() == [records[1].run_id]
    assert (rows["run_id"] == records[1].run_id).all()


def test_each_file_is_judged_on_its_own(envmon_home: Path, tmp_path: Path) -> None:
    ug = {(h, kind, s): "700" for h in range(24) for kind in ("CO", "CO_24h") for s in STATIONS}
    good = write_china_sites(tmp_path / "ok", "20261001", STATIONS)
    wrong_unit = write_china_sites(tmp_path / "co", "20261002", STATIONS, override=ug)
    misnamed = tmp_path / "late" / "china_sites_20261005.csv"
    misnamed.parent.mkdir()
    misnamed.write_bytes(write_china_sites(tmp_path / "x", "20261003", STATIONS).read_bytes())
    records = ingest_files([good, wrong_unit, misnamed, good], "china-sites", data_docs=False)

    assert [r.status for r in records] == ["ok", "failed", "failed", "duplicate"]
    assert "CO looks like µg/m³" in records[1].message
    assert [r.rows_loaded for r in records] == [72, 0, 0, 0]
    assert [r.rows_quarantined for r in records] == [0, 72, 72, 0]
    q = quarantine(envmon_home)
    by_run = q.groupby("run_id")["reason"].first()
    assert "CO median above 10" in by_run[records[1].run_id]
    # Rows of 3 October in a file named 5 October: outside its own window,
    # though inside the span of the group's files.
    assert by_run[records[2].run_id].endswith(
        "is outside the window 2026-10-05 00:00 - 23:00 inferred from the file name "
        "china_sites_20261005.csv")
    assert set(lake(envmon_home)["run_id"]) == {records[0].run_id}
    ledger = stored.ledger_rows().set_index("run_id")
    for record in records:
        row = ledger.loc[record.run_id]
        assert row["rows_in"] == row["rows_loaded"] + row["rows_quarantined"]


def test_groups_split_by_size_give_the_same_lake(envmon_home: Path, tmp_path: Path,
                                                 monkeypatch) -> None:
    from envmon.core import ingest as core_ingest

    days = [write_china_sites(tmp_path, f"202610{d:02d}", STATIONS) for d in range(1, 5)]
    monkeypatch.setattr(core_ingest, "GROUP_BYTES", 1)  # one file a group
    alone = ingest_files(days, "china-sites", data_docs=False)
    assert all(len(r.timings) == 4 for r in alone)  # parse, validate, load, derive each
    one_by_one = lake(envmon_home).drop(columns="run_id")

    other = tmp_path / "home2"
    monkeypatch.undo()
    monkeypatch.setenv("ENVMON_HOME", str(other))
    ingest_files(days, "china-sites", data_docs=False)
    together = lake(other).drop(columns="run_id")
    # The same rows; their order within a part is the storage's (DuckLake keeps none).
    keys = ["station_code", "ts", "source"]
    pd.testing.assert_frame_equal(one_by_one.sort_values(keys, ignore_index=True),
                                  together.sort_values(keys, ignore_index=True))
