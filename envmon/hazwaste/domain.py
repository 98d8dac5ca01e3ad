"""Hazardous-waste transfers as a domain of the envmon command line, demo and warehouse."""

from __future__ import annotations

import argparse
from datetime import date, datetime

from envmon.core.progress import Reporter

NAME = "hazwaste"
HELP = "hazardous-waste transfer manifests (manifest-json, manifest-csv exports)"
FORMATS = ("manifest-json", "manifest-csv")


def _instant(text: str) -> datetime:
    from envmon.hazwaste.delivery import FieldError, read_time

    try:
        return read_time(text, "time")
    except FieldError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc.reason}") from None


def _as_of_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=_instant, metavar="TIME",
                        help="'now' for the time-based anomaly rules, ISO 8601 with an offset "
                             "(default: each source's latest export time)")


def configure_ingest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, dest="fmt", choices=FORMATS,
                        help="manifest-json: a provincial system's JSON export; "
                             "manifest-csv: the same, one row per waste line")
    parser.add_argument("--exported-at", type=_instant, metavar="TIME",
                        help="when a manifest-csv file was exported (it does not say; "
                             "default: the latest time written in it)")
    _as_of_flag(parser)


def ingest(args: argparse.Namespace) -> list:
    from envmon.hazwaste.ingest import ingest_files

    return ingest_files(args.paths, args.fmt, source=args.source, exported_at=args.exported_at,
                        as_of=args.as_of, force=args.force, data_docs=args.data_docs,
                        reporter=args.reporter)


def configure_pull(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", required=True, type=date.fromisoformat,
                        help="first export day, YYYY-MM-DD (Beijing)")
    parser.add_argument("--end", required=True, type=date.fromisoformat,
                        help="last export day, YYYY-MM-DD (Beijing), inclusive")
    _as_of_flag(parser)


def pull(args: argparse.Namespace) -> list:
    from envmon.hazwaste.pull import pull as pull_days

    return pull_days(args.source, args.start, args.end, as_of=args.as_of, force=args.force,
                     data_docs=args.data_docs, reporter=args.reporter)


def lake_tables() -> dict:
    from envmon.hazwaste.schema import lake_tables as tables

    return tables()


def demo(first: date, last: date, seed: int, reporter: Reporter) -> list:
    """Write a month of daily manifest exports and ingest them as source `demo`."""
    from envmon.core.settings import home
    from envmon.demo.hazwaste import generate_exports
    from envmon.hazwaste.ingest import ingest_files

    feed_dir = home().demo_feeds / NAME
    reporter.say(f"hazwaste: writing daily manifest exports (manifests_YYYYMMDD.json) in "
                 f"{feed_dir}")
    files = generate_exports(feed_dir, first, last, seed=seed)
    reporter.say(f"hazwaste: ingesting {len(files)} exports (parse, Great Expectations, lake), "
                 "then lifecycle and anomalies")
    return ingest_files(files, "manifest-json", source="demo", reporter=reporter)


def demo_summary(con) -> list[str]:  # con: duckdb.DuckDBPyConnection
    kinds = con.execute("""
        SELECT anomaly, severity, count(*) FROM hw_anomalies
        GROUP BY ALL ORDER BY 3 DESC, 1""").fetchall()
    totals = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE cross_province), round(sum(shipped_t), 1)
        FROM hw_manifests""").fetchall()[0]
    flows = con.execute("""
        SELECT origin_province, dest_province, sum(manifests), round(sum(shipped_t), 1)
        FROM hw_flows_monthly WHERE cross_province
        GROUP BY ALL ORDER BY 4 DESC LIMIT 5""").fetchall()
    lines = [f"hazwaste: {totals[0]:,} manifests ({totals[1]:,} cross-province), "
             f"{totals[2] or 0:,} t shipped; anomalies by kind and severity:"]
    lines += [f"  {kind:<28} {severity:<6} {count:>5}" for kind, severity, count in kinds]
    lines.append("top inter-province flows (t):")
    lines += [f"  {origin:<9} -> {dest:<9} {count:>5} manifests  {tonnes:>9,.1f} t"
              for origin, dest, count, tonnes in flows]
    return lines
