"""Air quality as a domain of the envmon command line, demo and warehouse."""

from __future__ import annotations

import argparse
from datetime import date

from envmon.core.progress import Reporter

NAME = "air"
HELP = "air quality (station archive files, CNEMC archive, OpenAQ)"
# `envmon ingest --workers N`: files of this domain load independently.
PARALLEL_INGEST = True
FORMATS = ("china-sites", "cnemc-archive")


def configure_ingest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, dest="fmt", choices=FORMATS,
                        help="china-sites: china_sites_YYYYMMDD.csv, one column per station; "
                             "cnemc-archive: one row per station-hour")


def ingest(args: argparse.Namespace) -> list:
    from envmon.air.ingest import ingest_files

    return ingest_files(args.paths, args.fmt, source=args.source, force=args.force,
                        data_docs=args.data_docs, reporter=args.reporter)


def configure_pull(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", required=True, type=date.fromisoformat,
                        help="first natural day, YYYY-MM-DD (Beijing)")
    parser.add_argument("--end", required=True, type=date.fromisoformat,
                        help="last natural day, YYYY-MM-DD (Beijing), inclusive")


def pull(args: argparse.Namespace) -> list:
    from envmon.air.pull import pull as pull_days

    return pull_days(args.source, args.start, args.end, force=args.force,
                     data_docs=args.data_docs, reporter=args.reporter)


def lake_tables() -> dict:
    from envmon.air.schema import lake_tables as tables

    return tables()


def demo(first: date, last: date, seed: int, reporter: Reporter) -> list:
    """Write a month of station archive files and ingest them as source `demo`."""
    from envmon.air.ingest import ingest_files
    from envmon.core.settings import home
    from envmon.demo.air import generate_china_sites

    feed_dir = home().demo_feeds / "air"
    reporter.say(f"air: writing station archive files (china_sites_YYYYMMDD.csv) in {feed_dir}")
    files = generate_china_sites(feed_dir, first, last, seed=seed)
    reporter.say(f"air: ingesting {len(files)} files (parse, Great Expectations, lake)")
    return ingest_files(files, "china-sites", source="demo", reporter=reporter)


def demo_summary(con) -> list[str]:  # con: duckdb.DuckDBPyConnection
    worst = con.execute("""
        SELECT c.name_en, c.city_code, round(avg(d.pm25), 1),
               count(*) FILTER (WHERE d.aqi > 100), max(d.aqi)
        FROM air_daily_city d JOIN cities c USING (city_code)
        GROUP BY ALL ORDER BY 3 DESC NULLS LAST LIMIT 5""").fetchall()
    lines = ["worst cities by mean PM2.5 (µg/m³):"]
    lines += [f"  {city:<14} {code}  PM2.5 {pm25}  days AQI>100: {days}  worst AQI: {aqi}"
              for city, code, pm25, days, aqi in worst]
    return lines
