"""What the air-quality DAG's tasks call: plain functions, runnable by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from envmon.core.tasks import summarise_or_fail
from envmon.core.timeutil import BEIJING


def scheduled_sources() -> list[str]:
    """Air sources a scheduled run pulls (config/sources.yaml `air.scheduled`)."""
    from envmon.core.config import domain_settings

    return list(domain_settings("air").get("scheduled") or [])


def natural_day_of_interval(interval_end: datetime):  # -> date
    """The Beijing natural day the hour ending at `interval_end` belongs to."""
    # Through a plain timestamp: pendulum's arithmetic on a ZoneInfo-converted
    # DateTime drops the zone and gives the wrong day.
    local = datetime.fromtimestamp(interval_end.timestamp(), tz=BEIJING)
    return (local - timedelta(hours=1)).date()


def pull_for_interval(source: str, interval_end: datetime) -> dict:
    """Pull the day holding the hour that just ended; fail on an incomplete batch.

    Station archive files are daily, so every hourly run fetches the day's
    file again: identical bytes are recognised in landing and skipped, a
    longer file replaces the rows it carries.
    """
    from envmon.air.pull import pull

    day = natural_day_of_interval(interval_end)
    records = pull(source, day, day, data_docs=True)
    return summarise_or_fail(records, source=source, day=day.isoformat())

