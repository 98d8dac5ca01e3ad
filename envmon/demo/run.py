"""`envmon demo`: the whole pipeline on generated feeds, for one recent month."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from envmon.core.errors import ConfigError
from envmon.core.progress import Reporter
from envmon.core.settings import home
from envmon.demo import loads, summaries


@dataclass(frozen=True)
class DomainDemo:
    load: Callable[[date, date, int, Reporter], list]  # write the feeds, load them
    summarise: Callable[[Any], list[str]]  # lines from the built warehouse


# One per domain of envmon.domains, in the same order (a test checks).
DEMOS: dict[str, DomainDemo] = {
    "air": DomainDemo(loads.load_air, summaries.summarise_air),
    "water": DomainDemo(loads.load_water, summaries.summarise_water),
    "hazwaste": DomainDemo(loads.load_hazwaste, summaries.summarise_hazwaste),
}

EXAMPLE_QUERIES = (
    ("worst days", "SELECT date, city_code, pm25, aqi, primary_pollutant FROM air_daily_city "
                   "ORDER BY aqi DESC LIMIT 10"),
    ("quarantine", "SELECT file, line, field, reason FROM quarantine LIMIT 20"),
    ("runs", "SELECT run_id, files, status, rows_in, rows_loaded, rows_quarantined "
             "FROM ingest_runs ORDER BY started_at DESC LIMIT 10"),
)


def demo_month(month: str | None, today: date | None = None) -> tuple[date, date]:
    """First and last day of `month` (YYYY-MM), default the last full month."""
    if month:
        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError as exc:
            raise ConfigError(f"--month must be YYYY-MM, not {month!r}") from exc
    else:
        first = ((today or date.today()).replace(day=1) - timedelta(days=1)).replace(day=1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


def run_demo(month: str | None = None, seed: int = 2026) -> int:
    """Every domain's demo feeds through the pipeline, then the warehouse and a summary."""
    from envmon.core.progress import ConsoleReporter
    from envmon.core.warehouse import connect_read_only
    from envmon.domains import build_warehouse, domains

    first, last = demo_month(month)
    reporter = ConsoleReporter()
    reporter.say(f"envmon demo: {first:%Y-%m} into {home().root}")
    results = {}
    for name in domains():
        started = time.perf_counter()
        records = DEMOS[name].load(first, last, seed, reporter)
        results[name] = (records, time.perf_counter() - started)
    warehouse = build_warehouse()
    reporter.say(f"warehouse built: {warehouse}\n")
    con = connect_read_only(warehouse)
    try:
        for name, (records, seconds) in results.items():
            reporter.say(_totals(name, records, seconds))
            for line in DEMOS[name].summarise(con):
                reporter.say(line)
    finally:
        con.close()
    from envmon.alerts.cli import demo_alerts

    demo_alerts(reporter)
    from envmon.reporting.cli import demo_report

    demo_report(reporter, first)
    for line in query_hints(warehouse):
        reporter.say(line)
    return 0


def _totals(name: str, records: list, seconds: float) -> str:
    loaded = sum(r.rows_loaded for r in records)
    quarantined = sum(r.rows_quarantined for r in records)
    not_ok = sum(r.status not in ("ok", "duplicate") for r in records)
    return (f"{name}: {loaded:,} rows loaded, {quarantined:,} quarantined, "
            f"{not_ok} of {len(records)} runs not ok ({seconds:.0f}s)")


def query_hints(warehouse: Path) -> list[str]:
    """How to query the warehouse just built: envmon, Python, the DuckDB CLI."""
    from envmon.core.warehouse import attach_file

    lines = ["", "query the warehouse (read-only, from any directory):"]
    lines += [f'  {label:<12} .venv/bin/envmon query "{sql}"' for label, sql in EXAMPLE_QUERIES]
    # On the lakehouse the views read tables of an attached catalog: a plain
    # connection runs the build's attach statements first (README, "Query").
    attach = attach_file(warehouse)
    init = f"con.execute(open('{attach}').read()); " if attach.exists() else ""
    lines.append(f"  {'python':<12} .venv/bin/python -c \"import duckdb; "
                 f"con = duckdb.connect('{warehouse}', read_only=True); {init}"
                 f"print(con.sql('FROM air_daily_city LIMIT 5'))\"")
    cli = f"-init {attach} " if attach.exists() else ""
    lines.append(f"  {'duckdb CLI':<12} duckdb -readonly {cli}{warehouse}")
    lines.append(f"Data Docs (Great Expectations): {home().data_docs / 'index.html'}")
    return lines
