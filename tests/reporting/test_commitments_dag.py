"""The commitments DAG: wiring through a real DagBag, the month each run reports,
and a real `airflow dags test` run writing the reports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from envmon.core.timeutil import BEIJING
from envmon.reporting.tasks import closing_month, latest_data_month, report_for_run
from tests.support import stored

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
AIRFLOW = shutil.which("airflow", path=str(Path(sys.executable).parent)) or "airflow"


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "commitments.py"))
    assert bag.import_errors == {}
    return bag.dags["commitments"]


def test_schedule_assets_clock_and_tags(dag) -> None:
    from airflow.timetables.assets import AssetOrTimeSchedule

    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    uris = {a.uri.rstrip("/") for a in dag.timetable.asset_condition.objects}
    assert {"envmon://lake/air_daily_city", "envmon://lake/water_section_monthly",
            "envmon://lake/water_compensation", "envmon://lake/hw_manifests",
            "envmon://lake/hw_anomalies"} <= uris
    # The monthly closing report: 06:00 Beijing on the 1st.
    assert dag.timetable.timetable._expression == "0 6 1 * *"
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {"envmon", "reporting", "commitments"} <= set(dag.tags)


def test_assets_are_the_ones_the_domain_dags_emit() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    emitted = {o.uri for d in bag.dags.values() for t in d.tasks for o in t.outlets}
    watched = {a.uri for a in bag.dags["commitments"].timetable.asset_condition.objects}
    assert watched <= emitted, watched - emitted


def test_task_retries_notifies_and_emits(dag) -> None:
    from envmon.alerts.tasks import notify_task_failure

    task = dag.get_task("report")
    assert task.retries >= 1
    callbacks = task.on_failure_callback
    assert notify_task_failure in (callbacks if isinstance(callbacks, list) else [callbacks])
    assert {o.uri for o in task.outlets} == {"envmon://reporting/commitment_status"}


def test_closing_month() -> None:
    # 06:00 Beijing on 1 November is 22:00 UTC on 31 October: still November in Beijing.
    assert closing_month(datetime(2026, 10, 31, 22, 0, tzinfo=UTC)) == "2026-10"
    assert closing_month(datetime(2026, 10, 31, 15, 0, tzinfo=UTC)) == "2026-09"  # 23:00 BJ
    assert closing_month(date(2026, 1, 1)) == "2025-12"


def test_runs_pick_their_month(world: Path) -> None:
    assert latest_data_month(today=date(2026, 11, 15)) == "2026-10"
    # A day inside the data: the latest month not after it.
    assert latest_data_month(today=date(2026, 6, 15)) == "2026-06"
    closing = report_for_run(run_type="scheduled",
                             logical_date=datetime(2026, 11, 1, 6, tzinfo=BEIJING),
                             provinces=False)
    assert closing["period"] == "2026-10" and closing["why"] == "closing"
    assert closing["reports"] == [str(world / "reports" / "2026-10" / "yrd" / "report.html")]
    asked = report_for_run(run_type="manual", requested="2026-09", provinces=False)
    assert asked["period"] == "2026-09"
    con = stored.open_warehouse(world / "warehouse.duckdb")
    try:
        periods = con.execute("SELECT DISTINCT report_period FROM commitment_status "
                              "ORDER BY 1").fetchall()
    finally:
        con.close()
    assert periods == [("2026-09",), ("2026-10",)]


@pytest.mark.slow
def test_airflow_dags_test_writes_the_reports(world: Path, tmp_path: Path) -> None:
    env = {**os.environ,
           "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}
    migrated = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True,
                              text=True, timeout=600, cwd=ROOT)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    ran = subprocess.run([AIRFLOW, "dags", "test", "commitments", "2026-11-20T08:00:00+08:00"],
                         env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-3000:]
    assert "state=success" in output
    # A run not on the clock reports the latest month with data, for the region and
    # each province of the (scenario) registry.
    for area in ("yrd", "320000", "330000"):
        report = world / "reports" / "2026-10" / area / "report.html"
        assert report.is_file(), area
        assert (report.parent / "report_csv" / "status.csv").is_file()
