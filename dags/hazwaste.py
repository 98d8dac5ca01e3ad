"""Daily hazardous-waste manifests: pull the day's exports, recompute anomalies, rebuild.

Orchestration only; the work is in envmon/hazwaste/tasks.py. A run
ending at 00:00 Beijing loads the export of the day that just ended. Catchup
is on, so unpausing the DAG (or `airflow backfill create`) loads every day
since ENVMON_HAZWASTE_START; anomalies are recomputed from everything stored
on each run, so the order of backfilled runs does not matter.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from envmon.orchestration import (
    HW_ANOMALIES,
    HW_APPROVALS,
    HW_EVENTS,
    HW_MANIFEST_COPIES,
    HW_MANIFEST_STATE,
    HW_WASTE_LINES,
    WAREHOUSE,
    default_args,
)

with DAG(
    dag_id="hazwaste",
    description="Load daily hazardous-waste manifest exports, detect transfer anomalies",
    schedule="0 0 * * *",
    start_date=pendulum.parse(os.environ.get("ENVMON_HAZWASTE_START",
                                             "2026-11-01T00:00:00+08:00")),
    catchup=True,
    max_active_runs=1,  # anomalies read the whole lake: one recompute at a time
    default_args=default_args(retries=3, retry_delay=timedelta(minutes=10)),
    tags=["envmon", "hazwaste"],
    doc_md=__doc__,
):

    @task
    def sources() -> list[str]:
        from envmon.hazwaste.tasks import scheduled_sources

        return scheduled_sources()

    @task(outlets=[HW_MANIFEST_COPIES, HW_WASTE_LINES, HW_EVENTS, HW_APPROVALS])
    def pull(source: str, data_interval_end=None) -> dict:
        from envmon.hazwaste.tasks import pull_for_interval

        return pull_for_interval(source, data_interval_end)

    @task(outlets=[HW_MANIFEST_STATE, HW_ANOMALIES])
    def detect_anomalies() -> dict:
        from envmon.hazwaste.tasks import detect_anomalies as detect

        return detect()

    @task(outlets=[WAREHOUSE])
    def build_warehouse() -> str:
        from envmon.domains import build_warehouse as build

        return str(build())

    pull.expand(source=sources()) >> detect_anomalies() >> build_warehouse()
