"""`make bench-national`: envmon at national size, one domain per process, against a floor.

Issue 7's scale benchmark. For each domain, in a throw-away work directory:

- air: --stations hourly stations (the demo ones plus copies derived the way
  benchmarks/local.py derives them), daily `china_sites_YYYYMMDD.csv` files;
- water: --sections sections (the 23 of reference/water/demo_sections.csv plus
  derived copies, written as water/sections.csv into a temporary
  ENVMON_REFERENCE_DIR, which reference_path() prefers over the bundled file),
  one cnemc-water release page per 4-hour fetch;
- hazwaste: daily manifest-json exports with MANIFESTS_PER_DAY of the demo
  generator set so that a year holds --manifests-year manifests.

Then, each in a child process (its own peak RSS): envmon's ingest, one
`ingest_files(paths)` with every file as `envmon ingest` runs a backfill
(plus, for hazwaste, the one lifecycle/anomaly refresh the CLI does at the
end); the floor (DuckDB
reading the same raw files straight into Parquet); the warehouse build and
the commitment-report queries over the loaded period; a cProfile of one
file's ingest in a separate home (the children are in
benchmarks/national_children.py; air's are benchmarks/air.py's, as in `make
bench`). Each domain writes its results JSON as soon as it finishes
(`--results`), so partial results survive; `report` renders every JSON
present (benchmarks/templates/national.md.j2) into docs/benchmarks.md
between the national markers. Run it from the project root.

`--days` measures a fraction of the year; the report extrapolates the full
year linearly from the measured throughput and says which numbers are which.
Only the standard library is imported at module level (the floor children
must not pay for pandas).
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import air, harness
from benchmarks.harness import Layout, say
from benchmarks.national_children import CHILDREN, WORKER_FORMATS, summarise_runs

MODULE = "benchmarks.national"
DOMAINS = ("air", "water", "hazwaste")
DEFAULT_WORKDIR = Path("var") / "bench-national"
DEFAULT_RESULTS = Path("var") / "bench-national-results"
START_MARK = "<!-- bench:national:start -->"
END_MARK = "<!-- bench:national:end -->"
YEAR_DAYS = 365
# Derived water sections get codes BW00001...: the bundled registry uses YW001-style codes.
SECTION_CODE = "BW{:05d}"
WATER_SLOTS_PER_DAY = 6  # one cnemc-water fetch every 4 hours
# Issue 7's targets.
RATIO_TARGET = {"air": 3.0, "water": 3.0}
MEMORY_TARGET_MB = 2048
REPORT_TARGET_S = 2.0

# The commitment-report queries, per domain: (label, SQL over the real views).
# {first}/{last} are the period's first and last dates.
AIR_QUERIES = (
    ("annual mean PM2.5 per city, HJ 663 validity (>= 324 valid days, >= 27 per month, "
     "25 in Feb)",
     """WITH d AS (SELECT city_code, "date", pm25, pm25_valid FROM air_daily_city
                WHERE "date" BETWEEN DATE '{first}' AND DATE '{last}'),
        m AS (SELECT city_code, month("date") AS mo,
                     count(*) FILTER (WHERE pm25_valid) AS n FROM d GROUP BY ALL)
   SELECT d.city_code, round(avg(d.pm25) FILTER (WHERE d.pm25_valid), 1) AS pm25_mean,
          count(*) FILTER (WHERE d.pm25_valid) AS valid_days,
          count(*) FILTER (WHERE d.pm25_valid) >= 324
            AND (SELECT count(*) FROM m WHERE m.city_code = d.city_code
                 AND m.n >= CASE WHEN m.mo = 2 THEN 25 ELSE 27 END) = 12 AS annual_valid
   FROM d GROUP BY d.city_code ORDER BY pm25_mean DESC"""),
    ("good-day ratio per city (daily AQI <= 100)",
     """SELECT city_code, count(*) FILTER (WHERE aqi <= 100) / count(aqi) AS good_ratio,
          count(aqi) AS days FROM air_daily_city
   WHERE "date" BETWEEN DATE '{first}' AND DATE '{last}' GROUP BY city_code"""),
    ("O3 90th percentile of daily max 8h per city",
     """SELECT city_code, quantile_cont(o3_8h, 0.9) FILTER (WHERE o3_8h_valid) AS o3_8h_p90
   FROM air_daily_city WHERE "date" BETWEEN DATE '{first}' AND DATE '{last}'
   GROUP BY city_code"""),
)
WATER_QUERIES = (
    ("cross-boundary section compliance per month and province pair "
     "(water_compliance_monthly)",
     "SELECT * FROM water_compliance_monthly ORDER BY month, scope"),
    ("section compliance per month, all sections with a target (water_section_monthly)",
     """SELECT month, count(compliant) AS assessed,
          count(*) FILTER (WHERE compliant) AS compliant
   FROM water_section_monthly GROUP BY month ORDER BY month"""),
)
HAZWASTE_QUERIES = (
    ("manifests per province pair per month (hw_manifests, departure month)",
     """SELECT strftime(timezone('Asia/Shanghai', departed_at), '%Y-%m') AS month,
          origin_province_code, dest_province_code, count(*) AS manifests
   FROM hw_manifests WHERE departed_at IS NOT NULL GROUP BY ALL ORDER BY ALL"""),
    ("tonnes per province pair per month and category (hw_flows_monthly)",
     "SELECT * FROM hw_flows_monthly ORDER BY ALL"),
    ("open high-severity anomalies by kind (hw_anomalies, as of the last refresh)",
     """SELECT anomaly, count(*) AS anomalies FROM hw_anomalies
   WHERE severity = 'high' GROUP BY anomaly ORDER BY anomalies DESC"""),
)
QUERIES = {"air": AIR_QUERIES, "water": WATER_QUERIES, "hazwaste": HAZWASTE_QUERIES}


# --- entry point --------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m benchmarks.national DOMAIN... [options]` or `... report`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return harness.child_main(CHILDREN, argv[1], Path(argv[2]))
    args = parse_args(argv)
    if args.domains != ["report"]:
        for domain in args.domains:
            result = run_domain(domain, args, command=harness.command_line(MODULE, argv))
            args.results.mkdir(parents=True, exist_ok=True)
            (args.results / f"{domain}.json").write_text(json.dumps(result, indent=1,
                                                                    default=str))
            say(f"{domain}: results written to {args.results / (domain + '.json')}")
    results = load_results(args.results)
    report = render_report(results)
    print(report)
    if args.output is not None and results:
        write_report(args.output, report)
        say(f"report written to {args.output}")
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}",
                                description="National-size benchmark per domain.")
    p.add_argument("domains", nargs="+", choices=[*DOMAINS, "report"],
                   help="domains to run, in order ('report' only renders saved results)")
    p.add_argument("--days", type=int, default=YEAR_DAYS,
                   help="days of the year to generate and ingest (default 365)")
    for domain in DOMAINS:
        p.add_argument(f"--{domain}-days", type=int, default=None,
                       help=f"days for {domain} only (default: --days)")
    p.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    p.add_argument("--stations", type=int, default=2000)
    p.add_argument("--sections", type=int, default=3600)
    p.add_argument("--manifests-year", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    p.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True,
                   help="cProfile one file's ingest per domain (default: yes)")
    p.add_argument("--dagbag", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--workers", type=int, default=1,
                   help="also time `envmon ingest --workers N` (air, water) in a fresh home")
    p.add_argument("--keep", action="store_true")
    harness.add_storage_argument(p)
    p.add_argument("--output", default=str(harness.DEFAULT_OUTPUT),
                   help="Markdown file to update ('-' for none)")
    args = p.parse_args(argv)
    if "report" in args.domains and len(args.domains) > 1:
        p.error("'report' stands alone")
    sizes = (args.days, args.air_days, args.water_days, args.hazwaste_days, args.stations,
             args.sections, args.manifests_year)
    if min(d for d in sizes if d is not None) < 1:
        p.error("sizes must be >= 1")
    args.workdir = args.workdir.expanduser().resolve()
    args.results = args.results.expanduser().resolve()
    args.output = None if args.output == "-" else Path(args.output).resolve()
    return args


# --- one domain ---------------------------------------------------------------------


def run_domain(domain: str, args: argparse.Namespace, *, command: str) -> dict[str, Any]:
    with harness.work_in(args.workdir / domain, keep=args.keep) as layout:
        return _measure(domain, args, layout, command)


def _measure(domain: str, args: argparse.Namespace, layout: Layout, command: str
             ) -> dict[str, Any]:
    started = datetime.now(UTC)
    load_before = harness.load_average()
    days = getattr(args, f"{domain}_days") or args.days
    first, last = args.start, args.start + timedelta(days=days - 1)
    say(f"{domain}: {days} days from {first} in {layout.root}")
    clock = time.perf_counter()
    files, scale = generate(domain, args, layout, first, last)
    generate_s = time.perf_counter() - clock
    input_bytes = sum(p.stat().st_size for p in files)
    say(f"- generated {len(files)} files ({input_bytes / 1e6:.1f} MB) in "
        f"{generate_s:.1f}s")
    env = {"ENVMON_HOME": str(layout.home), "ENVMON_REFERENCE_DIR": str(layout.reference),
           "ENVMON_STORAGE": args.storage}

    say(f"- envmon ingest {domain} on {args.storage} (child process)")
    if domain == "air":
        ingest = _air_ingest(layout, env, files)
    else:
        ingest = _spawn("ingest", layout, env, {
            "domain": domain, "files": [str(p) for p in files],
            "as_of": _export_end(last).isoformat()})
    say(f"  {ingest['total_s']:.1f}s, {ingest['rows_loaded']:,} rows, "
        f"peak {ingest['peak_rss_mb']:.0f} MB")
    workers = None
    if args.workers > 1 and domain in WORKER_FORMATS:
        say(f"- envmon ingest {domain} --workers {args.workers} (command line)")
        workers = _spawn("workers", layout, {**env, "ENVMON_HOME": str(layout.root / "home-w")},
                         {"domain": domain, "files": [str(p) for p in files],
                          "workers": args.workers})
        say(f"  {workers['wall_s']:.1f}s, {workers['rows_loaded']:,} rows, "
            f"largest process {workers['peak_rss_max_mb']:.0f} MB")

    say("- floor: DuckDB raw files -> Parquet (child process)")
    floor_spec = {"domain": domain, "files": [str(p) for p in files],
                  "out": str(layout.floor / "parquet")}
    if domain == "air":
        floor = _spawn("air-floor", layout, env, {**floor_spec, "threads": os.cpu_count() or 1,
                                                  "carried": air.carried_columns()})
        floor["seconds"] = floor["copy_s"]
    else:
        floor = _spawn("floor", layout, env, floor_spec)
    say(f"  {floor['seconds']:.1f}s, {floor['rows']:,} rows, "
        f"peak {floor['peak_rss_mb']:.0f} MB")

    say("- warehouse build and commitment-report queries (child process)")
    queries = [(label, sql.format(first=first, last=last)) for label, sql in QUERIES[domain]]
    warehouse = _spawn("warehouse", layout, env, {"queries": queries, "domain": domain},
                       required=False)

    profile = None
    if args.profile:
        say("- cProfile of one file's ingest, separate home (child process)")
        pick = files[min(len(files) - 1, len(files) // 2)]
        profile = _spawn("profile", layout, {**env, "ENVMON_HOME": str(layout.home_docs)},
                         {"domain": domain, "files": [str(pick)],
                          "as_of": _export_end(last).isoformat()}, required=False)
    dagbag = None
    if args.dagbag and domain == DOMAINS[0] or (args.dagbag and "air" not in args.domains
                                                 and domain == args.domains[0]):
        dagbag = _spawn("dagbag", layout, harness.airflow_env(env, layout),
                        {"dags": str(harness.PROJECT_ROOT / "dags")}, required=False)
    return {
        "domain": domain, "command": command, "started_at": started.isoformat(timespec="seconds"),
        "load_average": [load_before, harness.load_average()], "machine": harness.machine_info(),
        "days": days, "first": first.isoformat(), "last": last.isoformat(),
        "scale": scale, "files": len(files), "input_bytes": input_bytes,
        "generate_s": generate_s, "ingest": ingest, "workers": workers, "floor": floor,
        "warehouse": warehouse,
        "profile": profile, "dagbag": dagbag,
        "storage": args.storage, "lake_bytes": harness.stored_bytes(layout.home),
    }


def _export_end(day: date) -> datetime:
    """23:00 Beijing of `day` (the demo's export time), as an aware datetime."""
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)


# --- inputs -------------------------------------------------------------------------


def generate(domain: str, args: argparse.Namespace, layout: Layout, first: date,
             last: date) -> tuple[list[Path], dict[str, Any]]:
    """The domain's raw files, with its real demo generator; and what they hold."""
    if domain == "air":
        stations = air.write_registry(layout.reference, args.stations)
        files = air.generate_files(layout.feed, stations, first, (last - first).days + 1,
                                     args.seed)
        return files, {"stations": len(stations), "unit": "station-hours",
                       "year_rows": len(stations) * 24 * YEAR_DAYS}
    if domain == "water":
        count = write_sections(layout.reference, args.sections)
        from envmon.demo import water as water_demo
        from envmon.water.reference import clear_cache

        previous = os.environ.get("ENVMON_REFERENCE_DIR")
        os.environ["ENVMON_REFERENCE_DIR"] = str(layout.reference)  # the generator reads it
        # missing_target ranks every cross-boundary section on each call, once
        # per section per snapshot: quadratic, ~11 s a page at 3,600 sections.
        # It is a pure function of its arguments, so memoising it gives the
        # same bytes (each section's answer computed once per month).
        # target_limit re-stats the limits file on every call (3 per reading);
        # it too is pure for the run, so it is memoised the same way.
        real_missing, real_limit = water_demo.missing_target, water_demo.target_limit
        water_demo.missing_target = functools.lru_cache(maxsize=None)(real_missing)
        water_demo.target_limit = functools.lru_cache(maxsize=None)(real_limit)
        try:
            clear_cache()
            # Pages are independent pure functions of (time, seed): one process
            # per core (forked, so the memoised functions come along) halves the
            # ~1.4 s a page of generating a national year.
            jobs = [(layout.feed, when, args.seed) for when in water_demo.fetch_times(first, last)]
            with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
                files = pool.starmap(water_demo.write_snapshot, jobs, chunksize=8)
        finally:
            water_demo.missing_target, water_demo.target_limit = real_missing, real_limit
            if previous is None:
                os.environ.pop("ENVMON_REFERENCE_DIR", None)
            else:
                os.environ["ENVMON_REFERENCE_DIR"] = previous
            clear_cache()
        return files, {"sections": count, "unit": "section readings",
                       "year_rows": count * WATER_SLOTS_PER_DAY * YEAR_DAYS}
    from envmon.demo import hazwaste as hw_demo

    layout.reference.mkdir(parents=True, exist_ok=True)  # the bundled registry, unchanged
    per_day = max(1, round(args.manifests_year / YEAR_DAYS))
    hw_demo.MANIFESTS_PER_DAY = per_day  # the generator reads the module global per day
    files = hw_demo.generate_exports(layout.feed, first, last, seed=args.seed)
    return files, {"manifests_per_day": per_day, "unit": "manifests",
                   "year_rows": per_day * YEAR_DAYS}


def derived_sections(rows: list[dict[str, str]], count: int) -> list[dict[str, str]]:
    """`count` section rows: the registry's, then copies with new codes and feed names.

    A copy keeps its template's province, city, water body, target class and
    cross-boundary pair (so compliance per pair has more sections, as in the
    national network), and gets a feed name unique in its province (the feed
    is matched on province + name).
    """
    out = [dict(r) for r in rows[:count]]
    for i in range(count - len(out)):
        template = rows[i % len(rows)]
        copy = dict(template)
        copy["section_code"] = SECTION_CODE.format(i + 1)
        name = template["feed_name"] or template["section_name"]
        copy["section_name"] = f"{template['section_name']}{i + 1}号"
        copy["feed_name"] = f"{name}{i + 1}号"
        copy["name_en"] = f"{template['name_en']} (bench copy {i + 1})"
        copy["demo"] = "true"
        out.append(copy)
    codes = [r["section_code"] for r in out]
    if len(set(codes)) != len(codes):
        raise SystemExit("bench: derived section codes collide with the registry")
    return out


def write_sections(directory: Path, count: int) -> int:
    """Write the demo sections plus derived copies as water/sections.csv under `directory`.

    The demo sections are the templates: they carry the targets, boundary
    pairs and flows the real registry leaves to a bureau, and the demo feed
    writes readings for demo sections only.
    """
    from envmon.core import reference
    from envmon.water.reference import DEMO_SECTIONS_FILE, SECTIONS_FILE

    source = reference.reference_path(DEMO_SECTIONS_FILE)
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or []), list(reader)
    out = derived_sections(rows, count)
    target = directory / SECTIONS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    harness.copy_reference_tables(directory)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(out)
    target.write_text(buffer.getvalue(), encoding="utf-8")
    return len(out)


# --- children (benchmarks/national_children.py) --------------------------------------


def _spawn(phase: str, layout: Layout, env: dict[str, str], spec: dict[str, Any], *,
           required: bool = True) -> dict[str, Any]:
    return harness.spawn(MODULE, phase, layout, env, spec, required=required)


def _air_ingest(layout: Layout, env: dict[str, str], files: list[Path]) -> dict[str, Any]:
    """`make bench`'s air ingest child (benchmarks.air), summarised like the other domains'."""
    raw = _spawn("air-ingest", layout, env, {
        "files": [str(p) for p in files], "data_docs": False, "docs_files": [],
        "docs_home": str(layout.home_docs), "docs_data_docs": False})
    return summarise_runs(raw["runs"], startup_s=raw["startup_s"], loop_s=raw["loop_s"],
                          cpu_s=raw["cpu_s"], peak_rss_mb=raw["peak_rss_main_mb"])


# --- report -------------------------------------------------------------------------


def load_results(directory: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for domain in DOMAINS:
        path = directory / f"{domain}.json"
        if path.exists():
            out[domain] = json.loads(path.read_text())
    return out


def extrapolate(result: dict[str, Any]) -> dict[str, Any]:
    """Full-year figures from the measured fraction: linear in rows (stated as such)."""
    fraction = result["days"] / YEAR_DAYS
    year_rows = result["scale"]["year_rows"]
    rate = _rate(result)
    wh = result["warehouse"]
    return {"fraction": fraction,
            "year_rows": year_rows,
            "year_ingest_s": year_rows / rate if rate else None,
            "year_floor_s": result["floor"]["seconds"] / fraction,
            "year_queries_s": (wh["total_first_s"] / fraction) if "error" not in wh else None}


def _rate(result: dict[str, Any]) -> float:
    """Rows loaded per second; for hazwaste distinct manifests (a manifest spans exports)."""
    ing = result["ingest"]
    if result["domain"] != "hazwaste":
        return ing["rows_per_s"]
    return ing.get("manifests", 0) / ing["total_s"] if ing["total_s"] else 0.0


def render_report(results: dict[str, dict[str, Any]]) -> str:
    """Every domain's saved results as Markdown (templates/national.md.j2)."""
    if not results:
        return "No national results yet.\n"
    extrapolated = {domain: extrapolate(r) for domain, r in results.items()}
    peaks = {d: r["ingest"]["peak_rss_mb"] for d, r in results.items()}
    peaks.update({f"{d} --workers (largest process)": r["workers"]["peak_rss_max_mb"]
                  for d, r in results.items() if r.get("workers")})
    peaks.update({f"{d} warehouse": r["warehouse"].get("peak_rss_mb", 0.0)
                  for d, r in results.items()})
    dag = next((r["dagbag"] for r in results.values() if r.get("dagbag")), None)
    return harness.render(
        "national.md.j2", results=results, m=next(iter(results.values()))["machine"],
        rate={domain: _rate(r) for domain, r in results.items()}, x=extrapolated,
        query_total=sum(x["year_queries_s"] or 0.0 for x in extrapolated.values()),
        measured_q=sum(r["warehouse"].get("total_first_s", 0.0) for r in results.values()),
        parallel=any(r.get("workers") for r in results.values()),
        peaks=peaks, worst=max(peaks.values()), dag=dag,
        dag_slowest=max(dag["files"].values(), default=0.0) if dag and "files" in dag else 0.0,
        year_days=YEAR_DAYS, ratio_target=RATIO_TARGET, memory_target_mb=MEMORY_TARGET_MB,
        report_target_s=REPORT_TARGET_S)


def write_report(path: Path, report: str) -> None:
    """Replace the block between the national markers (append the section if missing)."""
    harness.write_between_markers(path, report, START_MARK, END_MARK, new_file="# Benchmarks\n",
                                  heading="## National scale (issue 7)")


if __name__ == "__main__":
    sys.exit(main())
