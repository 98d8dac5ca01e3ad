"""`envmon pull hazwaste`: fetch each day's export from a configured source, load it.

A source is a directory the provincial system drops its daily export into,
or a URL template; file names are `manifests_YYYYMMDD.json` (manifest-json)
or `.csv` (manifest-csv), one per day. The demo source writes its export on
demand. A day not delivered raises SourceError (a scheduled task fails and
Airflow retries); the days already loaded stay, and states and anomalies are
recomputed over what is stored either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from envmon.core.config import source_settings
from envmon.core.errors import ConfigError, SourceError
from envmon.core.landing import LandedFile, land_bytes, land_file
from envmon.core.ledger import RunRecord
from envmon.core.progress import Reporter
from envmon.hazwaste.ingest import DOMAIN, load_exports, refresh_derived

DAILY_NAMES = {"manifest-json": "manifests_{date:%Y%m%d}.json",
               "manifest-csv": "manifests_{date:%Y%m%d}.csv"}


def pull(source: str, start: date, end: date, *, as_of: datetime | None = None,
         force: bool = False, data_docs: bool = True, refresh: bool = True,
         reporter: Reporter | None = None) -> list[RunRecord]:
    """Fetch the exports of days start..end (inclusive) from `source` and load them."""
    cfg = source_settings(DOMAIN, source)
    fmt = cfg.get("format")
    if fmt not in DAILY_NAMES:
        raise ConfigError(f"hazwaste source {source!r}: unknown format {fmt!r} "
                          f"(known: {', '.join(DAILY_NAMES)})")
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    records: list[RunRecord] = []

    def fetched() -> Iterator[LandedFile]:
        for day in days:
            yield _fetch(source, cfg, fmt, day)

    try:
        load_exports(fetched(), fmt, source=source, force=force, data_docs=data_docs,
                     reporter=reporter, total=len(days), on_record=records.append)
    finally:
        # A fetch that fails stops the pull after the days before it are
        # loaded (and recorded): those are refreshed all the same.
        if refresh and records:
            refresh_derived(as_of=as_of, reporter=reporter)
    return records


def _fetch(source: str, cfg: dict, fmt: str, day: date) -> LandedFile:
    name = DAILY_NAMES[fmt].format(date=day)
    if cfg.get("generator") == "demo":
        return _demo_file(cfg, day, name, source)
    if cfg.get("url_template"):
        from envmon.core import http

        url = cfg["url_template"].format(date=day)
        response = http.get(url)
        return land_bytes(response.content, domain=DOMAIN, source=source, name=name,
                          meta={"url": url, "fetched_at": datetime.now(UTC).isoformat()})
    if cfg.get("directory"):
        path = Path(cfg["directory"]) / name
        if not path.exists():
            raise SourceError(f"{path}: not delivered yet")
        return land_file(path, domain=DOMAIN, source=source)
    raise ConfigError(f"hazwaste source {source!r} has neither url_template nor directory")


def _demo_file(cfg: dict, day: date, name: str, source: str) -> LandedFile:
    """The demo source writes the day's export on demand, then reads it."""
    from envmon.demo.hazwaste import generate_exports

    directory = Path(cfg["directory"])
    path = directory / name
    if not path.exists():
        generate_exports(directory, day, day, seed=int(cfg.get("seed", 2026)))
    return land_file(path, domain=DOMAIN, source=source)
