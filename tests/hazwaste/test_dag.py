"""dags/hazwaste.py: imports through a DagBag, wired and scheduled as promised;
`airflow dags test` on demo data fills the warehouse."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from envmon.hazwaste.tasks import export_day
from tests.support import stored
from tests.support.airflow import dags_test, migrated_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "hazwaste.py"))
    assert bag.import_errors == {}
    return bag.dags["hazwaste"]


def test_daily_catchup_retries_tags_assets(dag) -> None:
    assert dag.catchup is True
    assert {"envmon", "hazwaste"} <= set(dag.tags)
    for task in dag.tasks:
        assert task.retries >= 1, task.task_id
    assert {a.uri for a in dag.get_task("pull").outlets} == {
        "envmon://lake/hw_manifests", "envmon://lake/hw_waste_lines",
        "envmon://lake/hw_events", "envmon://lake/hw_approvals"}
    assert {a.uri for a in dag.get_task("detect_anomalies").outlets} == {
        "envmon://lake/hw_manifest_state", "envmon://lake/hw_anomalies"}
    assert dag.get_task("detect_anomalies").upstream_task_ids == {"pull"}
    assert dag.get_task("build_warehouse").upstream_task_ids == {"detect_anomalies"}


def test_a_run_ending_at_midnight_loads_the_day_before() -> None:
    assert export_day(datetime.fromisoformat("2026-10-02T00:00:00+08:00")) == date(2026, 10, 1)
    # The same instant in UTC (16:00 the day before).
    assert export_day(datetime.fromisoformat("2026-10-01T16:00:00+00:00")) == date(2026, 10, 1)


@pytest.mark.slow
def test_airflow_dags_test_loads_a_demo_day(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("hazwaste_airflow")
    env = migrated_env(base, ENVMON_HAZWASTE_START="2026-10-01T00:00:00+08:00")
    # The run at 00:00 on 13 October loads the export of 12 October.
    dags_test("hazwaste", "2026-10-13T00:00:00+08:00", env)

    con = stored.open_warehouse(base / "envmon_home" / "warehouse.duckdb")
    try:
        runs = con.execute("SELECT files, status, rows_in, rows_loaded + rows_quarantined "
                           "FROM ingest_runs WHERE dataset = 'hw_manifests'").fetchall()
        assert len(runs) == 1
        files, status, rows_in, accounted = runs[0]
        assert (files, status) == ("manifests_20261012.json", "ok")
        assert rows_in == accounted > 300
        # The export of 12 October: manifests from the days before with activity that day.
        months = dict(con.execute("SELECT month, count(*) FROM hw_manifests GROUP BY 1"
                                  ).fetchall())
        assert months["2026-10"] > 300
        kinds = con.execute("SELECT count(DISTINCT anomaly) FROM hw_anomalies").fetchall()
        assert kinds[0][0] >= 10
        flows = con.execute("SELECT count(*) FROM hw_flows_monthly WHERE cross_province"
                            ).fetchall()
        assert flows[0][0] > 0
    finally:
        con.close()
