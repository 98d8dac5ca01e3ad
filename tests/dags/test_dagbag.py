"""Every DAG imports through a real DagBag, fast, and is wired as promised."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert "air_quality" in dagbag.dag_ids


def test_each_dag_file_parses_under_a_second(dagbag) -> None:
    stats = {Path(s.file).name: s.duration for s in dagbag.dagbag_stats}
    assert set(stats) == {p.name for p in DAG_FILES}
    slow = {name: d for name, d in stats.items() if d.total_seconds() >= 1}
    assert not slow, f"DAG files slower than 1 s to parse: {slow}"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_has_no_heavy_imports(dag_file: Path) -> None:
    """Heavy libraries belong inside task functions, not at parse time."""
    probe = (f"import runpy, sys; runpy.run_path({str(dag_file)!r}); "
             "print(','.join(m for m in ('pandas', 'great_expectations', 'pyarrow', 'duckdb') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), out.stdout


def test_air_dag_schedule_retries_tags_assets(dagbag) -> None:
    dag = dagbag.dags["air_quality"]
    assert dag.catchup is True
    assert "envmon" in dag.tags and "air" in dag.tags
    for task in dag.tasks:
        assert task.retries >= 1, task.task_id
    pull = dag.get_task("pull")
    outlets = {a.uri for a in pull.outlets}
    assert outlets == {"envmon://lake/air_hourly", "envmon://lake/air_daily_station",
                       "envmon://lake/air_daily_city"}
    assert dag.get_task("build_warehouse").upstream_task_ids == {"pull"}


def test_every_task_failure_notifies_the_operators(dagbag) -> None:
    """Task failures in any DAG reach the operators through the alert channels."""
    from envmon.alerts.tasks import notify_task_failure

    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert notify_task_failure in callbacks, f"{dag_id}.{task.task_id}"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_takes_assets_and_default_args_from_one_place(dag_file: Path) -> None:
    """Asset URIs and default_args are written once, in envmon/orchestration.py."""
    text = dag_file.read_text(encoding="utf-8")
    assert "from envmon.orchestration import" in text
    assert "Asset(" not in text and "default_args={" not in text and "envmon://" not in text


def test_asset_uris_stay_what_downstream_dags_schedule_on(dagbag) -> None:
    """Airflow keys asset events by URI: moving the assets must not rename one."""
    outlets = {f"{dag_id}.{t.task_id}": sorted(a.uri for a in t.outlets)
               for dag_id, dag in dagbag.dags.items() for t in dag.tasks if t.outlets}
    lake = "envmon://lake/"
    assert outlets == {
        "air_quality.pull": [lake + "air_daily_city", lake + "air_daily_station",
                             lake + "air_hourly"],
        "air_quality.build_warehouse": ["envmon://warehouse/"],
        "water_quality.pull": [lake + n for n in (
            "water_compensation", "water_compensation_factors", "water_readings",
            "water_section_daily", "water_section_monthly")],
        "water_quality.build_warehouse": ["envmon://warehouse/"],
        "hazwaste.pull": [lake + n for n in ("hw_approvals", "hw_events", "hw_manifests",
                                             "hw_waste_lines")],
        "hazwaste.detect_anomalies": [lake + "hw_anomalies", lake + "hw_manifest_state"],
        "hazwaste.build_warehouse": ["envmon://warehouse/"],
        "commitments.report": ["envmon://reporting/commitment_status"],
    }
    watched = {dag_id: sorted(a.uri for _, a in dagbag.dags[dag_id].timetable
                              .asset_condition.iter_assets())
               for dag_id in ("alerts", "commitments")}
    assert watched == {
        "alerts": [lake + n for n in ("air_daily_city", "air_hourly", "hw_anomalies",
                                      "water_readings", "water_section_monthly")]
        + ["envmon://warehouse/"],
        "commitments": [lake + n for n in ("air_daily_city", "hw_anomalies",
                                           "hw_manifest_state", "hw_manifests",
                                           "water_compensation", "water_section_monthly")],
    }
