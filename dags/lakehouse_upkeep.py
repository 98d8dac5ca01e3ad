"""Weekly lakehouse upkeep: merge small files, expire old snapshots, delete unused files.

Orchestration only; the work is in envmon/core/upkeep.py. Loads add small
Parquet files all week; on Sunday at 03:00 Beijing, when no bureau schedule
is busy, they are merged, snapshots older than config/lakehouse.yaml's
`upkeep.keep_days` are expired (time travel and rollback reach that far) and
the files freed more than `upkeep.grace_hours` ago are deleted. A load that
meets the upkeep's commit is retried, as between two loads. On the files
storage the task does nothing. No catchup: one upkeep covers every week
before it.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.trigger import CronTriggerTimetable

from envmon.orchestration import default_args

with DAG(
    dag_id="lakehouse_upkeep",
    description="Merge the lakehouse's small files, expire old snapshots, delete unused files",
    schedule=CronTriggerTimetable("0 3 * * 0", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=30)),
    tags=["envmon", "lakehouse"],
    doc_md=__doc__,
):

    @task
    def compact() -> dict:
        from envmon.core.upkeep import upkeep_task

        return upkeep_task()

    compact()
