"""What the commitments DAG's task calls (dags/commitments.py).

Cheap to import at DAG parse time: only the standard library at module level.

Which month a run reports:
- a scheduled run (the monthly clock, 1st of the month) writes the closing
  report of the month before its logical date (Beijing time);
- a run triggered by a lake update, or by hand, reports the latest month
  with data in the warehouse (a backfill of old months does not move it
  back), unless the run's `period` parameter names one.
Each run writes the region's report and one per province under
$ENVMON_HOME/reports/<period>/<area>/report.html, and commitment_status.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)


def closing_month(moment: datetime | date) -> str:
    """The month before `moment` (read in Beijing time when it has a zone)."""
    from envmon.core.timeutil import BEIJING

    if isinstance(moment, datetime):
        moment = moment.astimezone(BEIJING).date() if moment.tzinfo else moment.date()
    return f"{moment.replace(day=1) - timedelta(days=1):%Y-%m}"


def latest_data_month(today: date | None = None) -> str | None:
    """The month of the latest day with air, water or manifest data, not after today."""
    from envmon.core.warehouse import connect_read_only
    from envmon.reporting.periods import today_beijing

    today = today or today_beijing()
    queries = {
        "air_daily_city": "SELECT max(date) FROM air_daily_city WHERE aqi IS NOT NULL "
                          "AND date <= ?",
        "water_section_monthly": "SELECT max(CAST(month AS VARCHAR) || '-01')::DATE FROM "
                                 "water_section_monthly WHERE CAST(month AS VARCHAR) || '-01' "
                                 "<= CAST(? AS VARCHAR)",
        "hw_manifests": "SELECT max(CAST(timezone('Asia/Shanghai', entered_at) AS DATE)) FROM "
                        "hw_manifests WHERE CAST(timezone('Asia/Shanghai', entered_at) AS DATE)"
                        " <= ?",
    }
    con = connect_read_only()
    try:
        views = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        days = [con.execute(sql, [today]).fetchall()[0][0]
                for view, sql in queries.items() if view in views]
    finally:
        con.close()
    days = [d for d in days if d is not None]
    return f"{max(days):%Y-%m}" if days else None


def report_for_run(*, run_type: str, logical_date: datetime | None = None,
                   run_after: datetime | None = None, requested: str | None = None,
                   provinces: bool = True) -> dict[str, Any]:
    """Write commitment_status and the reports for the month this run is about."""
    from envmon.reporting.config import load_config
    from envmon.reporting.report import write_reports

    if requested:
        month, why = requested, "requested"
    elif run_type == "scheduled":
        month, why = closing_month(logical_date or run_after or datetime.now()), "closing"
    else:
        latest = latest_data_month()
        if latest is None:
            log.info("no air, water or manifest data in the warehouse yet: nothing to report")
            return {"period": None, "reports": []}
        month, why = latest, "latest data"
    config = load_config()
    targets: list[tuple[str | None, Any]] = [(None, None)]
    if provinces:
        from envmon.reporting.areas import load_areas

        areas = load_areas(config.region_code, config.region_name_en, config.region_name_zh)
        targets += [(code, None) for code in areas.provinces]
    results = write_reports(month, targets, config=config)
    for result in results:
        log.info("report %s (%s): %s, %d charts", month, why, result.html, result.charts)
    return {"period": month, "why": why, "status": results[0].status_stored,
            "reports": [str(r.html) for r in results],
            "month_status": results[0].status_counts.get("month", {}),
            "year_status": results[0].status_counts.get("year", {})}
