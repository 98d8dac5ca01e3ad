"""The water DAG: imports through a real DagBag, and `airflow dags test` on demo data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import stored
from tests.support.airflow import dags_test, migrated_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "water_quality.py"))
    assert bag.import_errors == {}
    return bag.dags["water_quality"]


def test_schedule_retries_tags_assets(dag) -> None:
    assert dag.catchup is True
    assert "envmon" in dag.tags and "water" in dag.tags
    assert dag.timetable.expression == "0 */4 * * *"  # the stations report every 4 hours
    for task in dag.tasks:
        assert task.retries >= 1, task.task_id
    outlets = {a.uri for a in dag.get_task("pull").outlets}
    assert outlets == {f"envmon://lake/{name}" for name in (
        "water_readings", "water_section_daily", "water_section_monthly", "water_compensation",
        "water_compensation_factors")}
    assert dag.get_task("build_warehouse").upstream_task_ids == {"pull"}


@pytest.mark.slow
def test_dag_run_loads_a_demo_fetch_into_the_warehouse(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    env = migrated_env(tmp_path, ENVMON_WATER_START="2026-10-01T00:00:00+08:00")
    # 04:00 Beijing on 2 October: the fetch after the 04:00 readings
    dags_test("water_quality", "2026-10-02T04:00:00+08:00", env)

    monkeypatch.setenv("ENVMON_HOME", env["ENVMON_HOME"])
    with stored.warehouse() as con:
        runs = con.execute("SELECT dataset, source, status, rows_in, "
                           "rows_loaded + rows_quarantined FROM ingest_runs "
                           "WHERE dataset = 'water_readings'").fetchall()
        assert len(runs) == 1
        dataset, source, status, rows_in, accounted = runs[0]
        assert (source, status) == ("demo", "ok") and rows_in == accounted >= 20
        stamps = con.execute("SELECT DISTINCT strftime(timezone('Asia/Shanghai', ts), "
                             "'%Y-%m-%d %H:%M') FROM water_readings").fetchall()
        assert stamps == [("2026-10-02 04:00",)]
        monthly = con.execute("SELECT count(*), count(water_class), count(compliant) "
                              "FROM water_section_monthly WHERE month = '2026-10'").fetchall()
        sections, classified, with_target = monthly[0]
        assert sections >= 20 and classified == sections and with_target == sections
        region = con.execute("SELECT sections_assessed FROM water_compliance_monthly "
                             "WHERE scope = 'region'").fetchall()
        assert region and region[0][0] >= 13  # of the 15 cross-boundary sections
        assert con.execute("SELECT count(*) FROM water_compensation").fetchall()[0][0] >= 8
