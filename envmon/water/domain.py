"""Cross-boundary surface water as a domain of the envmon command line, demo and warehouse."""

from __future__ import annotations

import argparse
from datetime import date, datetime

from envmon.core.progress import Reporter

NAME = "water"
HELP = "surface water (national real-time release, monthly laboratory results)"
# `envmon ingest --workers N`: files of this domain load independently.
PARALLEL_INGEST = True
FORMATS = ("cnemc-water", "lab-monthly")


def configure_ingest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, dest="fmt", choices=FORMATS,
                        help="cnemc-water: a JSON page of the real-time release; "
                             "lab-monthly: monthly laboratory CSV")
    parser.add_argument("--fetched-at", dest="fetched_at", metavar="TIMESTAMP",
                        help="when a cnemc-water page was fetched (ISO, default Beijing time); "
                             "it gives the readings' year. Default: the landed file's record "
                             "of it, then the file's modification time")


def ingest(args: argparse.Namespace) -> list:
    from envmon.water.ingest import ingest_files, parse_time

    fetched_at = parse_time(args.fetched_at) if args.fetched_at else None
    return ingest_files(args.paths, args.fmt, source=args.source, fetched_at=fetched_at,
                        force=args.force, data_docs=args.data_docs, reporter=args.reporter)


def configure_pull(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", metavar="TIMESTAMP",
                        help="the fetch time the demo sources simulate (ISO, default now); "
                             "real sources always fetch the release as it is now")


def pull(args: argparse.Namespace) -> list:
    from envmon.water.ingest import parse_time
    from envmon.water.pull import pull as pull_source

    at = parse_time(args.at) if args.at else None
    return pull_source(args.source, at=at, force=args.force, data_docs=args.data_docs,
                       reporter=args.reporter)


def lake_tables() -> dict:
    from envmon.water.schema import lake_tables as tables

    return tables()


def demo(first: date, last: date, seed: int, reporter: Reporter) -> list:
    """Real-time snapshots every 4 hours and the month's lab file, through the pipeline.

    The snapshots of one day are loaded as one run (six fetches, one batch)
    and the days in groups, to keep the demo quick; the DAG loads one fetch
    per run.
    """
    from envmon.core.landing import land_bytes
    from envmon.core.settings import home
    from envmon.demo.water import fetch_times, write_lab_month, write_snapshot
    from envmon.water.ingest import ingest_deliveries, ingest_files, progress

    feed_dir = home().demo_feeds / "water"
    times = fetch_times(first, last)
    reporter.say(f"water: writing {len(times)} real-time release pages (every 4 hours) "
                 f"and the laboratory file(s) in {feed_dir}")
    by_day: dict[date, list[tuple[datetime, object]]] = {}
    for when in times:
        path = write_snapshot(feed_dir, when, seed)
        landed = land_bytes(path.read_bytes(), domain="water", source="demo", name=path.name,
                            meta={"origin": str(path), "fetched_at": when.isoformat()})
        by_day.setdefault(when.date(), []).append((when, landed))
    months = sorted({(d.year, d.month) for d in by_day})
    labs = [write_lab_month(feed_dir, y, m, seed) for y, m in months]
    reporter.say(f"water: ingesting {len(by_day)} days of pages and {len(labs)} lab file(s)")
    days = sorted(by_day)
    records = ingest_deliveries(
        [([f for _, f in by_day[d]], max(w for w, _ in by_day[d])) for d in days],
        "cnemc-water", source="demo", source_cfg={"min_sections": 15},
        on_record=progress(reporter, len(days), [str(d) for d in days]))
    records += ingest_files(labs, "lab-monthly", source="demo-lab", reporter=reporter)
    return records


def demo_summary(con) -> list[str]:  # con: duckdb.DuckDBPyConnection
    """Cross-boundary sections' class vs target, compliance rates, compensation owed."""
    lines = ["cross-boundary sections, monthly class vs target (2011 method):"]
    rows = con.execute("""
        SELECT month, section_code, section_name, water_class, target_class, compliant,
               deciding_items, upstream_code || '->' || downstream_code
        FROM water_section_monthly WHERE cross_boundary
        ORDER BY month, section_code""").fetchall()
    for month, code, name, cls, target, ok, deciding, pair in rows:
        mark = "meets" if ok else ("MISSES" if ok is False else "n/a")
        lines.append(f"  {month} {code} {name:<10} {pair:<14} {cls or '-':>3} vs {target or '-':<3}"
                     f" {mark:<6} ({deciding or '-'})")
    compliance: dict[str, list[str]] = {}
    for month, scope, assessed, met, rate in con.execute("""
            SELECT month, scope, sections_assessed, sections_compliant, compliance_rate
            FROM water_compliance_monthly ORDER BY month, scope = 'region' DESC, scope
            """).fetchall():
        text = f"{met}/{assessed} ({rate:.0%})" if scope == "region" else f"{met}/{assessed}"
        compliance.setdefault(month, []).append(f"{scope} {text}")
    for month, parts in compliance.items():
        lines.append(f"  compliance {month}: {parts[0]}; by province pair: {', '.join(parts[1:])}")
    for month, n, share, worse in con.execute("""
            SELECT month, sections, share_i_iii, sections_worse_than_v
            FROM water_quality_share_monthly ORDER BY month""").fetchall():
        lines.append(f"  {month}: {n} sections, {share:.0%} in I-III, {worse} worse than V")
    owed = con.execute("""
        SELECT month, section_code, section_name, payer_name, payee_name, amount_cny, detail
        FROM water_compensation WHERE amount_cny > 0 ORDER BY month, amount_cny DESC
        """).fetchall()
    lines.append("compensation owed (Jiangsu formula, config/water_compensation.yaml):")
    lines += [f"  {m} {c} {n}: {payer} pays {payee} {amount:,.0f} CNY ({detail})"
              for m, c, n, payer, payee, amount, detail in owed] or ["  nothing owed"]
    tli = con.execute("""
        SELECT section_name, round(tli, 1), tli_band FROM water_section_monthly
        WHERE tli IS NOT NULL ORDER BY tli DESC LIMIT 3""").fetchall()
    if tli:
        lines.append("lake TLI (highest): " + "; ".join(f"{n} {t} {b}" for n, t, b in tli))
    return lines
