"""The alerts DAG: wiring through a real DagBag, and a real `airflow dags test` run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from envmon.alerts import store
from envmon.domains import build_warehouse
from tests.alerts.conftest import SECRET_ENV, WEBHOOK_SECRET, shipped_config_data
from tests.alerts.scenario import load_days

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
AIRFLOW = shutil.which("airflow", path=str(Path(sys.executable).parent)) or "airflow"


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "alerts.py"))
    assert bag.import_errors == {}
    return bag.dags["alerts"]


def test_schedule_assets_and_clock(dag) -> None:
    from airflow.timetables.assets import AssetOrTimeSchedule

    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    # Airflow normalises "envmon://warehouse" to "envmon://warehouse/"
    uris = {a.uri.rstrip("/") for a in dag.timetable.asset_condition.objects}
    assert {"envmon://lake/air_hourly", "envmon://lake/air_daily_city",
            "envmon://warehouse"} <= uris
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {"envmon", "alerts"} <= set(dag.tags)


def test_tasks_retry_and_notify_on_failure(dag) -> None:
    from envmon.alerts.tasks import notify_task_failure

    for task in dag.tasks:
        assert task.retries >= 1, task.task_id
        callbacks = task.on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert notify_task_failure in callbacks, task.task_id
    assert dag.get_task("deliver").upstream_task_ids == {"evaluate"}
    assert dag.get_task("deliver").trigger_rule == "all_done"


@pytest.mark.slow
def test_airflow_dags_test_evaluates_and_delivers(tmp_path: Path, envmon_home: Path,
                                                  webhook) -> None:
    load_days(tmp_path / "feeds", [1, 2, 3])
    build_warehouse()
    data = shipped_config_data()
    data["channels"]["bureau-webhook"].update(enabled=True, url=webhook.url,
                                              secret_env=SECRET_ENV)
    data["rules"]["source_stale"]["params"]["expected"] = [
        {"dataset": "air_hourly", "source": "china-sites", "max_age_hours": 26}]
    config = tmp_path / "alerts.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ,
           "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
           "ENVMON_HOME": str(envmon_home),
           "ENVMON_ALERTS_CONFIG": str(config),
           SECRET_ENV: WEBHOOK_SECRET}
    migrated = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True,
                              text=True, timeout=600, cwd=ROOT)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    ran = subprocess.run([AIRFLOW, "dags", "test", "alerts", "2026-11-01T08:00:00+08:00"],
                         env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-3000:]
    assert "state=success" in output
    # Days 1-3 of the scenario: 6 alerts (see test_air_alert_lifecycle), each notified once.
    assert len(store.read("alerts")) == 6
    assert len(webhook.requests) == 6
    assert {r["status"] for r in store.read("outbox")} == {"sent"}
