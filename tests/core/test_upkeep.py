"""Lakehouse upkeep (envmon/core/upkeep.py) on the embedded lakehouse: merging
small files changes no answer, today's or a past snapshot's, and rollback
still works; expiry ends time travel where the retention says; freed files
leave the disk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from envmon.core import lakehouse
from envmon.core.errors import ConfigError, EnvmonError
from envmon.core.upkeep import Retention, compact, live_files, retention, upkeep_task
from tests.support.feeds import write_china_sites

STATIONS = ["9001A", "9002A", "9016A"]
VIEWS = ("air_hourly", "air_daily_station", "air_daily_city", "ingest_runs", "quarantine")
DAYS = [f"202610{d:02d}" for d in range(1, 7)]


@pytest.fixture
def lake_home(envmon_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVMON_STORAGE", "lakehouse")
    return envmon_home


def load_days(tmp_path: Path, days: list[str]) -> list:
    """One run (one commit) per day, as an hourly schedule leaves them."""
    from envmon.air.ingest import ingest_files

    return [ingest_files([write_china_sites(tmp_path / day, day, STATIONS)], "china-sites")[0]
            for day in days]


def answers(as_of: int | None = None) -> dict[str, list]:
    from envmon.core.warehouse import connect_read_only
    from envmon.domains import build_warehouse

    build_warehouse()
    con = connect_read_only(as_of=as_of)
    try:
        return {view: sorted(map(repr, con.execute(f"SELECT * FROM {view}").fetchall()))
                for view in VIEWS}
    finally:
        con.close()


def latest_snapshot() -> int:
    con = lakehouse.connect(read_only=True)
    try:
        return lakehouse.snapshots(con)[-1].snapshot_id
    finally:
        con.close()


def files_on_disk(home: Path) -> set[Path]:
    return set((home / "lakehouse" / "data").rglob("*.parquet"))


def test_merging_changes_no_answer_now_or_as_of_a_past_snapshot(lake_home: Path,
                                                                 tmp_path: Path) -> None:
    load_days(tmp_path, DAYS[:1])
    after_day_one, then = answers(), latest_snapshot()
    runs = load_days(tmp_path, DAYS[1:])
    now, before = answers(), live_files(lakehouse.session())

    done = compact(Retention(keep_days=90, grace_hours=24))
    assert done.files_after < done.files_before == before, done
    assert done.snapshots_expired == 0 and done.files_deleted == 0
    assert answers() == now
    assert answers(as_of=then) == after_day_one

    # The last day's run is still one commit that can be undone.
    from envmon.core.rollback import rollback

    rollback(runs[-1].run_id)
    hours = answers()["air_hourly"]
    assert len(hours) == len(now["air_hourly"]) - 24 * len(STATIONS)
    last_day = "datetime.date(2026, 10, 6)"
    assert any(last_day in row for row in now["air_hourly"])
    assert not any(last_day in row for row in hours)


def test_expiry_ends_time_travel_at_the_retention_and_freed_files_leave_the_disk(
        lake_home: Path, tmp_path: Path) -> None:
    load_days(tmp_path, DAYS[:3])
    old = latest_snapshot()
    now = answers()
    on_disk = files_on_disk(lake_home)

    later = datetime.now(UTC) + timedelta(days=2)
    done = compact(Retention(keep_days=1, grace_hours=0), now=later)
    assert done.snapshots_expired > 0 and done.files_deleted > 0, done
    assert answers() == now
    assert len(on_disk - files_on_disk(lake_home)) == done.files_deleted
    with pytest.raises(EnvmonError, match=f"no snapshot at {old}: .*upkeep.keep_days"):
        answers(as_of=old)


def test_the_cli_and_the_dag_task(lake_home: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from envmon.cli import main

    load_days(tmp_path, DAYS[:2])
    assert main(["lakehouse", "compact", "--grace-hours", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("data files: ") and "older than 90 days" in out, out
    assert upkeep_task()["storage"] == "lakehouse"

    monkeypatch.setenv("ENVMON_STORAGE", "files")
    assert upkeep_task()["storage"] == "files"
    with pytest.raises(EnvmonError, match="upkeep is for the lakehouse"):
        compact(retention())


@pytest.mark.parametrize("bad", [-1, "a week", True, None])
def test_a_retention_that_is_not_a_number_is_refused(bad: object, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lakehouse.yaml").write_text(
        f"upkeep:\n  keep_days: {bad if bad is not None else ''}\n  grace_hours: 24\n",
        encoding="utf-8")
    monkeypatch.setenv("ENVMON_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="upkeep.keep_days must be a number"):
        retention()
    assert retention({"keep_days": 7}).keep_days == 7.0  # the command line's override
