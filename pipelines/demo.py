"""`envmon demo`: the whole pipeline on generated feeds, for one recent month."""

from __future__ import annotations

import time
from datetime import date, timedelta

from pipelines.core.errors import ConfigError
from pipelines.core.settings import home

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
    from pipelines.air.ingest import ingest_files
    from pipelines.air.sources.demo import generate_china_sites
    from pipelines.core.config import source_settings
    from pipelines.core.warehouse import build

    first, last = demo_month(month)
    started = time.perf_counter()
    cfg = source_settings("air", "demo")
    feed_dir = home().demo_feeds / "air"
    print(f"envmon demo: {first:%Y-%m} into {home().root}")
    print(f"- generating station archive files (china_sites_YYYYMMDD.csv) in {feed_dir}")
    files = generate_china_sites(feed_dir, first, last, seed=seed)
    print(f"- ingesting {len(files)} files (parse, Great Expectations, lake)")
    records = []
    for number, path in enumerate(files, start=1):
        [record] = ingest_files([path], "china-sites", source="demo", source_cfg=cfg)
        records.append(record)
        print(f"  [{number}/{len(files)}] {path.name}: {record.status}, "
              f"{record.rows_loaded:,} loaded, {record.rows_quarantined:,} quarantined",
              flush=True)
    warehouse = build()
    print(f"- warehouse built: {warehouse}")
    _summary(records, warehouse, time.perf_counter() - started)
    return 0


def _summary(records: list, warehouse, seconds: float) -> None:
    from pipelines.core.warehouse import connect_read_only

    loaded = sum(r.rows_loaded for r in records)
    quarantined = sum(r.rows_quarantined for r in records)
    not_ok = [r for r in records if r.status not in ("ok", "duplicate")]
    print(f"\nair: {loaded:,} station-hours loaded, {quarantined:,} quarantined, "
          f"{len(not_ok)} of {len(records)} runs not ok ({seconds:.0f}s)")
    con = connect_read_only(warehouse)
    try:
        worst = con.sql("""
            SELECT c.name_en AS city, c.city_code,
                   round(avg(d.pm25), 1) AS pm25_mean,
                   count(*) FILTER (WHERE d.aqi > 100) AS polluted_days,
                   max(d.aqi) AS worst_aqi
            FROM air_daily_city d JOIN cities c USING (city_code)
            GROUP BY ALL ORDER BY pm25_mean DESC NULLS LAST LIMIT 5""").fetchall()
    finally:
        con.close()
    print("worst cities by mean PM2.5 (µg/m³):")
    for city, code, pm25, days, aqi in worst:
        print(f"  {city:<14} {code}  PM2.5 {pm25}  days AQI>100: {days}  worst AQI: {aqi}")
    print("\nquery the warehouse (read-only, from any directory):")
    for label, sql in EXAMPLE_QUERIES:
        print(f'  {label:<12} envmon query "{sql}"')
    print(f"  {'duckdb':<12} duckdb -readonly {warehouse}")
    print(f"Data Docs (Great Expectations): {home().data_docs / 'index.html'}")
