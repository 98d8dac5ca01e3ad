"""Commitment status and the monthly report.

Orchestration only; the work is in envmon/reporting/tasks.py. Runs when
any domain DAG updates a lake dataset the indicators read (AssetAny), so the
status follows the data, and on the 1st of each month at 06:00 Beijing for
the closing report of the month before. Each run recomputes
commitment_status and writes the reports (the region and each province)
under $ENVMON_HOME/reports/<period>/. Nothing to catch up: every run reads
all the data, so catchup is off and runs do not overlap.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, AssetAny, Param, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from envmon.orchestration import (
    AIR_DAILY_CITY,
    COMMITMENT_STATUS,
    HW_ANOMALIES,
    HW_MANIFEST_COPIES,
    HW_MANIFEST_STATE,
    WATER_COMPENSATION,
    WATER_SECTION_MONTHLY,
    default_args,
)

# The lake datasets the indicators read, as the domain DAGs name them in
# their outlets (dags/air_quality.py, dags/water_quality.py, dags/hazwaste.py).
WATCHED = [AIR_DAILY_CITY, WATER_SECTION_MONTHLY, WATER_COMPENSATION, HW_MANIFEST_COPIES,
           HW_MANIFEST_STATE, HW_ANOMALIES]

with DAG(
    dag_id="commitments",
    description="Commitment indicators against targets, and the monthly HTML report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 1 * *", timezone="Asia/Shanghai"),
        assets=AssetAny(*WATCHED)),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={"period": Param(None, type=["null", "string"],
                            description="YYYY-MM to report (default: see the DAG doc)")},
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=5)),
    tags=["envmon", "reporting", "commitments"],
    doc_md=__doc__,
):

    @task(outlets=[COMMITMENT_STATUS])
    def report(dag_run=None, params=None) -> dict:
        from envmon.reporting.tasks import report_for_run

        return report_for_run(run_type=str(getattr(dag_run.run_type, "value", dag_run.run_type)),
                              logical_date=dag_run.logical_date, run_after=dag_run.run_after,
                              requested=(params or {}).get("period"))

    report()
