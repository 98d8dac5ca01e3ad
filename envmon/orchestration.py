"""What every envmon DAG shares: its default_args and the assets DAGs exchange.

The DAG files in dags/ only wire tasks; they import this at parse time, so
it stays as cheap: the standard library and airflow.sdk only at module level
(envmon.alerts.tasks, for the failure callback, is standard library too).

Asset URIs are a contract: downstream DAGs schedule on them (alerts,
commitments) and Airflow stores their events by URI. Never change one.
A lake asset names the dataset's directory under lake/, as the ledger does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset

from envmon.alerts.tasks import notify_task_failure


def lake_asset(dataset: str) -> Asset:
    """The asset of lake/<dataset>/, updated by the task that loads or recomputes it."""
    return Asset(f"envmon://lake/{dataset}")


WAREHOUSE = Asset("envmon://warehouse")
COMMITMENT_STATUS = Asset("envmon://reporting/commitment_status")

AIR_HOURLY = lake_asset("air_hourly")
AIR_DAILY_STATION = lake_asset("air_daily_station")
AIR_DAILY_CITY = lake_asset("air_daily_city")

WATER_READINGS = lake_asset("water_readings")
WATER_SECTION_DAILY = lake_asset("water_section_daily")
WATER_SECTION_MONTHLY = lake_asset("water_section_monthly")
WATER_COMPENSATION = lake_asset("water_compensation")
WATER_COMPENSATION_FACTORS = lake_asset("water_compensation_factors")

# lake/hw_manifests/ holds every copy of every manifest version (the
# warehouse's raw.hw_manifest_copies), not the view hw_manifests (one row per
# manifest): the URI keeps the directory's name.
HW_MANIFEST_COPIES = lake_asset("hw_manifests")
HW_WASTE_LINES = lake_asset("hw_waste_lines")
HW_EVENTS = lake_asset("hw_events")
HW_APPROVALS = lake_asset("hw_approvals")
HW_MANIFEST_STATE = lake_asset("hw_manifest_state")
HW_ANOMALIES = lake_asset("hw_anomalies")


def default_args(*, retries: int, retry_delay: timedelta) -> dict[str, Any]:
    """Every task of every DAG: retried with backoff, owned by envmon, failures notified."""
    return {"retries": retries, "retry_delay": retry_delay,
            "retry_exponential_backoff": True, "owner": "envmon",
            "on_failure_callback": notify_task_failure}
