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


def configure_reports(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `reports` command (stored reports: list, get) to the envmon parser."""
    reports = subparsers.add_parser(
        "reports", help="reports kept in the lakehouse: list them, write one out",
        description="Every report `envmon report` or the commitments DAG writes is also kept "
                    "in the lakehouse, so a host other than the one that wrote it (a worker "
                    "with no shared disk) can hand it out.")
    actions = reports.add_subparsers(title="actions", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the stored reports, newest period first")
    listing.set_defaults(handler=cmd_reports_list)
    get = actions.add_parser("get", help="write a stored report out (report.html, report_csv/)")
    get.add_argument("--period", required=True, metavar="YYYY-MM", help="the report's month")
    get.add_argument("--region", metavar="CODE",
                     help="the area: the region's code (default), or a province or city adcode")
    get.add_argument("--out", type=Path, metavar="DIR",
                     help="the folder to write into (default: "
                          "$ENVMON_HOME/reports/<period>/<region>/)")
    get.set_defaults(handler=cmd_reports_get)
    return reports


def cmd_reports_list(args: argparse.Namespace) -> int:
    from envmon.reporting.published import listing

    stored = listing()
    for item in stored:
        print(f"{item.report_period}  {item.region:<8} {item.files:>3} files  "
              f"written {item.written_at:%Y-%m-%d %H:%M:%S %Z}")
    if not stored:
        print("no report stored yet")
    return 0


def cmd_reports_get(args: argparse.Namespace) -> int:
    from envmon.reporting.config import load_config
    from envmon.reporting.published import fetch
    from envmon.reporting.report import default_out

    region = args.region or load_config().region_code
    out = args.out or default_out(args.period, region).parent
    out = out.expanduser().resolve()
    written = fetch(args.period, region, out)
    print(f"report {args.period} {region}: {written[0]} ({len(written)} files written)")
    return 0


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
             f"  CSV exports: {result.csv_dir}/ ; commitment_status: {result.status_stored}",
             f"  {result.charts} charts; written in {result.seconds:.1f}s"]
    if result.published is not None:
        kept = result.published
        lines.append(f"  kept in the lakehouse ({kept.files} files): `envmon reports get "
                     f"--period {kept.report_period} --region {kept.region}` writes it out "
                     "on any host")
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
