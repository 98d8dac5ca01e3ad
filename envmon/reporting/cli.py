"""`envmon report`, and the report step at the end of `envmon demo`.

Wiring (envmon/cli.py):   from envmon.reporting.cli import configure as configure_report
                             configure_report(sub)   # sub = the top-level subparsers
Demo (envmon/demo/run.py):    from envmon.reporting.cli import demo_report
                             demo_report(reporter, first)   # first day of the demo month,
                                                            # after the warehouse is built
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from envmon.reporting.status import STATUS_ZH, STATUSES


def configure(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `report` command to the envmon parser."""
    report = subparsers.add_parser(
        "report", help="commitment status and the HTML report for a month",
        description="Compute every commitment indicator (config/commitments.yaml) for every "
                    "city, province and the region into commitment_status, and write one "
                    "self-contained HTML report (opens offline) with CSV exports of its "
                    "tables in <name>_csv/ next to it.")
    report.add_argument("--period", required=True, metavar="YYYY-MM",
                        help="the month to report, e.g. 2026-10 (the year to date is judged "
                             "too)")
    report.add_argument("--region", metavar="CODE",
                        help="the area: the region's code (default, e.g. yrd), a province "
                             "adcode (320000) or a city adcode (320500)")
    report.add_argument("--out", type=Path, metavar="PATH",
                        help="the HTML file to write (default: "
                             "$ENVMON_HOME/reports/<period>/<region>/report.html)")
    report.add_argument("--as-of", type=_day, metavar="YYYY-MM-DD",
                        help="judge the data up to this day (default: the month's last day, "
                             "or today when the month is not over)")
    report.set_defaults(handler=cmd_report)
    return report


def cmd_report(args: argparse.Namespace) -> int:
    from envmon.reporting.report import write_report

    result = write_report(args.period, region=args.region, out=args.out, as_of=args.as_of)
    for line in summary_lines(result):
        print(line)
    return 0


def demo_report(reporter: Any, month: date | str) -> Path:
    """The end of `envmon demo`: write the region's report for the demo month, say where."""
    from envmon.reporting.report import write_report

    period = month if isinstance(month, str) else f"{month:%Y-%m}"
    result = write_report(period)
    reporter.say("")
    for line in summary_lines(result):
        reporter.say(line)
    return result.html


def summary_lines(result: Any) -> list[str]:
    lines = [f"report: {result.html}",
             f"  CSV exports: {result.csv_dir}/ ; commitment_status: {result.status_path}",
             f"  {result.charts} charts; written in {result.seconds:.1f}s"]
    for kind, label in (("month", "month"), ("year", "year to date")):
        counts = result.status_counts.get(kind, {})
        text = ", ".join(f"{counts[s]} {s} {STATUS_ZH[s]}" for s in STATUSES if counts.get(s))
        lines.append(f"  {label}: {text or 'nothing computed'}")
    if result.missed:
        lines.append("  missed: " + "; ".join(result.missed[:8])
                     + (f" (+{len(result.missed) - 8} more)" if len(result.missed) > 8 else ""))
    if result.at_risk:
        lines.append("  at risk: " + "; ".join(result.at_risk[:8]))
    return lines


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a day YYYY-MM-DD: {text!r}") from exc
