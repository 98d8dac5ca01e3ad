"""What the hazwaste DAG's tasks call: plain functions, runnable by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from envmon.core.tasks import summarise_or_fail
from envmon.core.timeutil import BEIJING


def scheduled_sources() -> list[str]:
    """Sources a scheduled run pulls (config/sources.yaml `hazwaste.scheduled`)."""
    from envmon.core.config import domain_settings

    return list(domain_settings("hazwaste").get("scheduled") or [])


def export_day(interval_end: datetime) -> date:
    """The Beijing day whose export is complete when the interval ends.

    A run ending at 00:00 on 2 October loads the export of 1 October.
    """
    # Through a plain timestamp: pendulum's arithmetic on a converted
    # DateTime can drop the zone (see envmon/air/tasks.py).
    local = datetime.fromtimestamp(interval_end.timestamp(), tz=BEIJING)
    return (local - timedelta(seconds=1)).date()


def pull_for_interval(source: str, interval_end: datetime) -> dict:
    """Load the day's export; fail the task on a failed or incomplete run."""
    from envmon.hazwaste.pull import pull

    day = export_day(interval_end)
    records = pull(source, day, day, data_docs=True, refresh=False)
    return summarise_or_fail(records, source=source, day=day.isoformat())


def detect_anomalies() -> dict:
    """Recompute manifest states and anomalies over everything stored."""
    from envmon.hazwaste.derive import refresh

    return refresh()

