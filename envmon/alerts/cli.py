"""`envmon alerts run` and `envmon alerts list [--open]`, and the demo's alert step.

Wiring (envmon/cli.py):   from envmon.alerts.cli import configure
                             configure(sub)    # sub = the top-level subparsers
Demo (envmon/demo/run.py):    from envmon.alerts.cli import demo_alerts
                             demo_alerts(reporter)   # after the warehouse is built
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from envmon.core.errors import ConfigError

SEVERITY_RANK = {"critical": 0, "high": 1, "warning": 2, "info": 3}


def configure(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `alerts` command (with `run` and `list`) to the envmon parser."""
    alerts = subparsers.add_parser(
        "alerts", help="evaluate alert rules, deliver notices, list alerts",
        description="Threshold alerts over the warehouse (rules in config/alerts.yaml). Each "
                    "breach is one alert keyed by rule, subject and period; re-runs never "
                    "notify it twice.")
    actions = alerts.add_subparsers(title="actions", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="evaluate the rules, record alerts, deliver notices",
                             description="Evaluate every enabled rule on the warehouse "
                                         "(read-only), record raised/resolved alerts, queue "
                                         "their notices and deliver the outbox.")
    run.add_argument("--now", type=_instant, metavar="ISO8601",
                     help="evaluation instant with its offset, e.g. 2026-11-01T08:00:00+08:00 "
                          "(default: the clock); staleness is measured against it")
    run.add_argument("--rule", dest="rules", action="append", metavar="ID",
                     help="evaluate only this rule (repeatable)")
    run.add_argument("--no-deliver", dest="deliver", action="store_false",
                     help="record and queue notices but do not send them")
    run.set_defaults(handler=cmd_run)
    listing = actions.add_parser("list", help="list stored alerts",
                                 description="Alerts from the store, open ones first.")
    listing.add_argument("--open", dest="open_only", action="store_true",
                         help="only alerts whose condition still holds")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    listing.set_defaults(handler=cmd_list)
    return alerts


def cmd_run(args: argparse.Namespace) -> int:
    from envmon.alerts.rules import load_config
    from envmon.alerts.service import run

    config = load_config()
    only = set(args.rules) if args.rules else None
    unknown = sorted((only or set()) - set(config.rules))
    if unknown:
        raise ConfigError(f"unknown alert rule {unknown[0]!r} (configured: "
                          f"{', '.join(config.rules)})")
    summary = run(now=args.now, config=config, deliver_notices=args.deliver, only=only)
    for line in summary.lines():
        print(line)
    if summary.delivery is not None and summary.delivery.errors:
        print("envmon: warning: some notices were not delivered; they stay in the outbox and "
              "are retried on later runs", file=sys.stderr)
    if summary.failed_rules:
        print("envmon: error: " + "; ".join(f"rule {o.rule}: {o.message}"
                                            for o in summary.failed_rules), file=sys.stderr)
        return 1
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from envmon.alerts.service import list_alerts

    rows = order(list_alerts(open_only=args.open_only))
    shown = rows[:args.limit]
    for line in format_table(shown):
        print(line)
    more = f" (first {len(shown)} shown; --limit)" if len(rows) > len(shown) else ""
    print(f"{len(rows)} alert(s){' open' if args.open_only else ''}{more}")
    return 0


def demo_alerts(reporter: Any, *, now: datetime | None = None, show: int = 12) -> None:
    """The end of `envmon demo`: run the rules, say what was raised, list the worst."""
    from envmon.alerts.service import list_alerts, run

    summary = run(now=now)
    reporter.say("")
    for line in summary.lines():
        reporter.say(line)
    rows = order(list_alerts())
    by_rule: dict[tuple[str, str], int] = {}
    for row in rows:
        by_rule[(row["rule"], row["status"])] = by_rule.get((row["rule"], row["status"]), 0) + 1
    counts = ", ".join(f"{rule} {status} {n}" for (rule, status), n in sorted(by_rule.items()))
    reporter.say(f"stored alerts: {len(rows)}: {counts}")
    if rows:
        reporter.say("most severe (envmon alerts list [--open] for all):")
        for line in format_table(rows[:show]):
            reporter.say(f"  {line}")


def order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open first, then the most severe, then the most recent period."""
    rows = sorted(rows, key=lambda r: (r["period"] or "", r["subject"]), reverse=True)
    return sorted(rows, key=lambda r: (r["status"] != "open",
                                       SEVERITY_RANK.get(r["severity"], 9)))


def format_table(rows: list[dict[str, Any]]) -> list[str]:
    header = ("status", "severity", "rule", "subject", "period", "value", "notices")
    lines = []
    for row in rows:
        value = "" if row.get("value") is None else f"{row['value']:g} {row.get('unit') or ''}"
        subject = row["subject"] + (f" {row['subject_name']}" if row.get("subject_name") else "")
        status = row["status"] + (f" ({row['resolve_reason']})" if row.get("resolve_reason")
                                  else "")
        notices = f"{row.get('notices_sent', 0)} sent"
        if row.get("notices_waiting"):
            notices += f", {row['notices_waiting']} waiting"
        lines.append((status, row["severity"], row["rule"], subject, row["period"],
                      value.strip(), notices))
    widths = [max([len(h)] + [len(line[i]) for line in lines]) for i, h in enumerate(header)]
    widths[3] = min(widths[3], 40)

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(c[:w].ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [fmt(header)] + [fmt(line) for line in lines]


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {text!r}") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset; add +08:00 (Beijing) or Z")
    return value
