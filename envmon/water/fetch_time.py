"""When a cnemc-water delivery was fetched: the year and window of its readings.

The release writes readings as "MM-DD HH:MM" without a year, so a page is
read against its fetch time: --fetched-at, else the landed file's metadata
(`fetched_at`, written by `envmon pull`), else the file's modification time,
which is only a guess (an archived copy has the time it was copied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from envmon.core.config import domain_settings
from envmon.core.errors import ConfigError
from envmon.core.landing import LandedFile
from envmon.core.timeutil import BEIJING


def fetch_settings() -> tuple[timedelta, timedelta]:
    """(tolerance, max_age) for cnemc-water timestamps, from config/sources.yaml."""
    settings = domain_settings("water")
    tolerance = float(settings.get("fetch_tolerance_hours", 24))
    max_age = float(settings.get("max_reading_age_days", 31))
    return timedelta(hours=tolerance), timedelta(days=max_age)


def parse_time(text: str) -> datetime:
    """An ISO timestamp; without an offset it is Beijing time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--fetched-at {text!r} is not an ISO timestamp "
                          "(e.g. 2027-01-02T08:00:00+08:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


@dataclass(frozen=True)
class FetchTime:
    """When a cnemc-water delivery was fetched, and whether that is only a file's time."""

    at: datetime
    # A modification time: an archived or copied page has the time of the
    # copy, so the parser refuses it when it puts no reading in the window.
    file_time: bool = False


def fetch_time_of(landed: LandedFile, path: Path | None = None) -> FetchTime:
    """The landed metadata's fetched_at, else the file's modification time."""
    recorded = landed.meta.get("fetched_at")
    if recorded:
        return FetchTime(parse_time(str(recorded)))
    source = path if path is not None and path.exists() else landed.path
    return FetchTime(datetime.fromtimestamp(source.stat().st_mtime, tz=BEIJING), file_time=True)
