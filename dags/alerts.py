"""Evaluate the alert rules after each load, and deliver the outbox.

Orchestration only; the work is in envmon/alerts/tasks.py. Runs when any
domain DAG updates a lake dataset or the warehouse (AssetAny), and also
every 30 minutes: staleness (a source that stopped delivering) produces no
asset event, so it needs a clock. Rules read all the data every run, so
there is nothing to catch up: catchup is off and runs do not overlap.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, AssetAny, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from envmon.orchestration import (
    AIR_DAILY_CITY,
    AIR_HOURLY,
    HW_ANOMALIES,
    WAREHOUSE,
    WATER_READINGS,
    WATER_SECTION_MONTHLY,
    default_args,
)

# The lake datasets the rules read (config/alerts.yaml `requires`), as the
# domain DAGs declare them in their outlets, and the warehouse they rebuild.
WATCHED = [AIR_HOURLY, AIR_DAILY_CITY, WATER_READINGS, WATER_SECTION_MONTHLY, HW_ANOMALIES,
           WAREHOUSE]

with DAG(
    dag_id="alerts",
    description="Evaluate envmon alert rules and deliver notices (email, signed webhooks)",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/30 * * * *", timezone="Asia/Shanghai"),
        assets=AssetAny(*WATCHED)),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=2)),
    tags=["envmon", "alerts"],
    doc_md=__doc__,
):

    @task
    def evaluate() -> dict:
        from envmon.alerts.tasks import evaluate_rules

        return evaluate_rules()

    # all_done: notices queued earlier (and task-failure notices) still go
    # out when this run's evaluation failed.
    @task(trigger_rule="all_done")
    def deliver() -> dict:
        from envmon.alerts.tasks import deliver_outbox

        return deliver_outbox()

    evaluate() >> deliver()
