"""Each domain's part of `envmon demo`: write its demo feeds, then load them as source `demo`.

The writers are envmon.demo.<domain>; the loads go through the same
functions `envmon ingest` calls. envmon.demo.run calls these in domain order.
"""

from __future__ import annotations

from datetime import date, datetime

from envmon.core.progress import Reporter
from envmon.core.settings import home


def load_air(first: date, last: date, seed: int, reporter: Reporter) -> list:
    """Write a month of station archive files and ingest them as source `demo`."""
    from envmon.air.ingest import ingest_files
    from envmon.demo.air import generate_china_sites

    feed_dir = home().demo_feeds / "air"
    reporter.say(f"air: writing station archive files (china_sites_YYYYMMDD.csv) in {feed_dir}")
    files = generate_china_sites(feed_dir, first, last, seed=seed)
    reporter.say(f"air: ingesting {len(files)} files (parse, Great Expectations, lake)")
    return ingest_files(files, "china-sites", source="demo", reporter=reporter)


def load_water(first: date, last: date, seed: int, reporter: Reporter) -> list:
    """Real-time snapshots every 4 hours and the month's lab file, through the pipeline.

    The snapshots of one day are loaded as one run (six fetches, one batch)
    and the days in groups, to keep the demo quick; the DAG loads one fetch
    per run.
    """
    from envmon.core.landing import land_bytes
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


def load_hazwaste(first: date, last: date, seed: int, reporter: Reporter) -> list:
    """Write a month of daily manifest exports and ingest them as source `demo`."""
    from envmon.demo.hazwaste import generate_exports
    from envmon.hazwaste.ingest import ingest_files

    feed_dir = home().demo_feeds / "hazwaste"
    reporter.say(f"hazwaste: writing daily manifest exports (manifests_YYYYMMDD.json) in "
                 f"{feed_dir}")
    files = generate_exports(feed_dir, first, last, seed=seed)
    reporter.say(f"hazwaste: ingesting {len(files)} exports (parse, Great Expectations, lake), "
                 "then lifecycle and anomalies")
    return ingest_files(files, "manifest-json", source="demo", reporter=reporter)
