"""`envmon pull hazwaste`: fetch each day's export from a configured source, load it.

A source is a directory the provincial system drops its daily export into,
or a URL template; file names are `manifests_YYYYMMDD.json` (manifest-json)
or `.csv` (manifest-csv), one per day (envmon.core.sources.daily_file). The
demo source's generator writes its export on demand. A day not delivered
raises SourceError (a scheduled task fails and Airflow retries); the days
already loaded stay, and states and anomalies are recomputed over what is
stored either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from envmon.core.config import source_settings
from envmon.core.errors import ConfigError
from envmon.core.landing import LandedFile
from envmon.core.ledger import RunRecord
from envmon.core.progress import Reporter
from envmon.core.sources import daily_file
from envmon.hazwaste.ingest import DOMAIN, load_exports, refresh_derived
from envmon.hazwaste.sources import FORMATS


def pull(source: str, start: date, end: date, *, as_of: datetime | None = None,
         force: bool = False, data_docs: bool = True, refresh: bool = True,
         reporter: Reporter | None = None) -> list[RunRecord]:
    """Fetch the exports of days start..end (inclusive) from `source` and load them."""
    cfg = source_settings(DOMAIN, source)
    fmt = cfg.get("format")
    if fmt not in FORMATS:
        raise ConfigError(f"hazwaste source {source!r}: unknown format {fmt!r} "
                          f"(known: {', '.join(FORMATS)})")
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    records: list[RunRecord] = []

    def fetched() -> Iterator[LandedFile]:
        for day in days:
            yield daily_file(DOMAIN, source, cfg, FORMATS[fmt].daily_name.format(date=day), day)

    try:
        load_exports(fetched(), fmt, source=source, force=force, data_docs=data_docs,
                     reporter=reporter, total=len(days), on_record=records.append)
    finally:
        # A fetch that fails stops the pull after the days before it are
        # loaded (and recorded): those are refreshed all the same.
        if refresh and records:
            refresh_derived(as_of=as_of, reporter=reporter)
    return records
