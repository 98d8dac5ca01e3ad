"""Hourly air-quality ingestion: pull, check, load, rebuild the warehouse.

Orchestration only; the work is in envmon/air/tasks.py. Catchup is on, so
unpausing the DAG (or `airflow backfill create`) loads every hour since
ENVMON_AIR_START.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from envmon.orchestration import (
    AIR_DAILY_CITY,
    AIR_DAILY_STATION,
    AIR_HOURLY,
    WAREHOUSE,
    default_args,
)

with DAG(
    dag_id="air_quality",
    description="Pull air-quality feeds hourly into the envmon lake and warehouse",
    schedule="@hourly",
    start_date=pendulum.parse(os.environ.get("ENVMON_AIR_START", "2026-11-01T00:00:00+08:00")),
    catchup=True,
    max_active_runs=4,
    default_args=default_args(retries=3, retry_delay=timedelta(minutes=5)),
    tags=["envmon", "air"],
    doc_md=__doc__,
):

    @task
    def sources() -> list[str]:
        from envmon.air.tasks import scheduled_sources

        return scheduled_sources()

    @task(outlets=[AIR_HOURLY, AIR_DAILY_STATION, AIR_DAILY_CITY], max_active_tis_per_dag=2)
    def pull(source: str, data_interval_end=None) -> dict:
        from envmon.air.tasks import pull_for_interval

        return pull_for_interval(source, data_interval_end)

    @task(outlets=[WAREHOUSE])
    def build_warehouse() -> str:
        from envmon.domains import build_warehouse as build

        return str(build())

    pull.expand(source=sources()) >> build_warehouse()
