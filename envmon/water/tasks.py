"""What the water-quality DAG's tasks call: plain functions, runnable by hand."""

from __future__ import annotations

from datetime import datetime

from envmon.core.tasks import summarise_or_fail
from envmon.core.timeutil import BEIJING


def scheduled_sources() -> list[str]:
    """Water sources a scheduled run pulls (config/sources.yaml `water.scheduled`)."""
    from envmon.core.config import domain_settings

    return list(domain_settings("water").get("scheduled") or [])


def pull_for_interval(source: str, interval_end: datetime) -> dict:
    """Fetch the release as of the interval's end; fail on a failed or incomplete batch.

    The real-time release only shows the present, so a catch-up run of a past
    interval fetches today's page (its readings land under their own dates);
    only the demo source can show the past, and does so for `interval_end`.
    """
    from envmon.water.pull import pull

    # Through a plain timestamp: pendulum arithmetic on converted zones misbehaves.
    at = datetime.fromtimestamp(interval_end.timestamp(), tz=BEIJING)
    records = pull(source, at=at, data_docs=True)
    return summarise_or_fail(records, source=source, at=at.isoformat())

