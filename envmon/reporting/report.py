"""One report: compute the commitment status, gather the report's tables from
the warehouse, render the HTML and write the CSV exports.

    write_report("2026-10", region="320000", out=Path("report.html"))


The tables are gathered in tables.py, drawn and written in render.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from envmon.core.settings import home
from envmon.reporting.areas import load_areas
from envmon.reporting.config import Commitments, load_config
from envmon.reporting.published import Published, publish
from envmon.reporting.render import csv_dir_for, render_report
from envmon.reporting.status import compute, write
from envmon.reporting.tables import ReportData, gather, selected_rows


@dataclass(frozen=True)
class ReportResult:
    html: Path
    csv_dir: Path
    status_stored: str  # where commitment_status was written
    charts: int
    status_counts: dict[str, dict[str, int]]
    missed: list[str]
    at_risk: list[str]
    seconds: float
    published: Published | None = None  # kept in the lakehouse (reporting/published.py)


def default_out(month: str, region: str) -> Path:
    return home().root / "reports" / month / region / "report.html"


def write_report(month: str, *, region: str | None = None, out: Path | None = None,
                 as_of: date | None = None, today: date | None = None,
                 config: Commitments | None = None) -> ReportResult:
    """Compute and store commitment_status for `month`, then write the report."""
    return write_reports(month, [(region, out)], as_of=as_of, today=today, config=config)[0]


def write_reports(month: str, targets: list[tuple[str | None, Path | None]], *,
                  as_of: date | None = None, today: date | None = None,
                  config: Commitments | None = None) -> list[ReportResult]:
    """Compute commitment_status for `month` once, store it, and write one report
    per (region code or None for the whole region, output path or None for the
    default under $ENVMON_HOME/reports/)."""
    from envmon.core.warehouse import connect_read_only

    started = time.perf_counter()
    config = config or load_config()
    areas = load_areas(config.region_code, config.region_name_en, config.region_name_zh)
    chosen = [(areas.get(region or config.region_code), out) for region, out in targets]
    con = connect_read_only()
    results = []
    try:
        run = compute(month, as_of=as_of, today=today, config=config, con=con)
        status_stored = write(run)
        for area, out in chosen:
            data = gather(run, config, areas, area, con, today=today)
            html = (out or default_out(month, area.code)).expanduser().resolve()
            charts = render_report(data, html)
            kept = publish(month, area.code, html, csv_dir_for(html))
            results.append(_result(data, html, status_stored, charts,
                                   time.perf_counter() - started, kept))
    finally:
        con.close()
    return results


def _result(data: ReportData, html: Path, status_stored: str, charts: int,
            seconds: float, published: Published | None) -> ReportResult:
    rows = data.tables["status"]
    counts = {kind: rows[f"{kind}_status"].dropna().value_counts().to_dict()
              for kind in ("month", "year") if f"{kind}_status" in rows}
    selected = selected_rows(data)
    missed = [f"{r.title} ({r.period})" for r in selected.itertuples() if r.status == "missed"]
    at_risk = [f"{r.title} ({r.period})" for r in selected.itertuples()
               if r.status == "at risk"]
    return ReportResult(html, csv_dir_for(html), status_stored, charts, counts, missed, at_risk,
                        seconds, published)


