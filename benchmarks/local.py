"""`make bench`: how fast envmon ingests a year of hourly station files, and against what floor.

What it does, in a throw-away work directory (never the user's ENVMON_HOME):

1. Writes a bench station registry (the demo stations, plus derived copies up
   to --stations) into a temporary ENVMON_REFERENCE_DIR, so every generated
   station counts as registered, and generates --days daily
   `china_sites_YYYYMMDD.csv` files with the real demo generator.
2. Times `envmon ingest air --format china-sites` end to end: the real
   `envmon.air.ingest.ingest_files`, one call with every file as the CLI
   makes it, in a child process so its peak RSS is its own. Per step: the run
   ledger's timings (parse, validate, load, derive) plus landing, timed by
   wrapping the landing call. A short second pass with Great Expectations
   Data Docs switched on prices them per file.
3. Times the floor: DuckDB reading the same CSV files straight into Parquet
   partitioned by date (one COPY statement), also in a child process.
4. Times the warehouse build and a few analyst queries over the result.
5. Parses the DAG files with a real DagBag in a child process.

It prints a Markdown report (benchmarks/templates/local.md.j2) and writes it
between the results markers of docs/benchmarks.md (the prose around them is
kept), or to --output. Run it from the project root: the children are
`python -m benchmarks.local --child ...` started there.

Only the standard library is imported at module level: the floor child must
not pay for (or count the memory of) pandas and Great Expectations.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from benchmarks import air, harness
from benchmarks.harness import Layout, say

MODULE = "benchmarks.local"
DEFAULT_OUTPUT = harness.DEFAULT_OUTPUT
DEFAULT_WORKDIR = Path("var") / "bench"
RESULTS_START = "<!-- bench:results:start -->"
RESULTS_END = "<!-- bench:results:end -->"

# What an analyst asks of a year: (label, SQL against the warehouse views).
QUERIES: tuple[tuple[str, str], ...] = (
    ("annual mean PM2.5 per city (air_daily_city)",
     "SELECT city_code, round(avg(pm25), 1) AS pm25_mean, count(pm25) AS valid_days "
     "FROM air_daily_city GROUP BY city_code ORDER BY pm25_mean DESC"),
    ("good days (AQI <= 100) per city (air_daily_city)",
     "SELECT city_code, count(*) FILTER (WHERE aqi <= 100) AS good_days, "
     "count(aqi) AS days_with_aqi FROM air_daily_city GROUP BY city_code ORDER BY good_days"),
    ("station-hours per month (air_hourly)",
     "SELECT strftime(CAST(date AS DATE), '%Y-%m') AS month, count(*) AS station_hours "
     "FROM air_hourly GROUP BY month ORDER BY month"),
    ("p95 hourly PM2.5 per station (air_hourly)",
     "SELECT station_code, quantile_cont(pm25, 0.95) AS pm25_p95 "
     "FROM air_hourly GROUP BY station_code ORDER BY pm25_p95 DESC"),
)
# The query whose total must equal the station-hours envmon loaded.
MONTHLY_QUERY = 2

# Ingest steps in report order: (key, label). Keys match RunRecord.timings,
# plus what the bench measures around them.
STEPS: tuple[tuple[str, str], ...] = (
    ("startup", "startup (imports)"),
    ("landing", "landing (sha256, copy)"),
    ("parse", "parse (wide CSV -> station-hours)"),
    ("validate", "validate (Great Expectations)"),
    ("load", "load (registry, AQI, lake upsert, quarantine)"),
    ("derive", "derive (daily marts)"),
    ("other", "other (ledger, duplicate check)"),
)


@dataclass(frozen=True)
class BenchOptions:
    """What to generate and measure (see parse_args for the meaning of each)."""

    stations: int = 300
    days: int = 365
    start: date = date(2025, 1, 1)
    workdir: Path = DEFAULT_WORKDIR
    keep: bool = False
    data_docs: bool = False
    docs_days: int = 7
    dagbag: bool = True
    seed: int = 2026
    output: Path | None = DEFAULT_OUTPUT
    json_path: Path | None = None
    storage: str = "lakehouse"  # envmon's default (envmon.core.lakehouse.DEFAULT_STORAGE)


# --- entry point --------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m benchmarks.local [options]`; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return harness.child_main(CHILDREN, argv[1], Path(argv[2]))
    options = parse_args(argv)
    result = run_bench(options, command=harness.command_line(MODULE, argv))
    report = render_report(result)
    print(report)
    if options.output is not None:
        write_report(options.output, report)
        print(f"\nreport written to {options.output}", file=sys.stderr)
    return harness.save_json_and_check(result, options.json_path)


def parse_args(argv: Sequence[str]) -> BenchOptions:
    """Command-line options; paths are made absolute (children run from the project root)."""
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}",
                                description="Benchmark envmon's air ingest against a "
                                            "DuckDB CSV->Parquet floor.")
    p.add_argument("--stations", type=int, default=300, help="stations per file (default 300)")
    p.add_argument("--days", type=int, default=365, help="daily files (default 365)")
    p.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1),
                   help="first day, YYYY-MM-DD (default 2025-01-01)")
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                   help="throw-away directory for files, ENVMON_HOME and Parquet "
                        "(default ./var/bench; wiped before the run)")
    p.add_argument("--keep", action="store_true", help="keep the work directory afterwards")
    p.add_argument("--data-docs", action=argparse.BooleanOptionalAction, default=False,
                   help="render GX Data Docs in the main run (default: no, as in production "
                        "backfills)")
    p.add_argument("--docs-days", type=int, default=7,
                   help="files of the short run with Data Docs toggled, to price them "
                        "(default 7; 0 skips it)")
    p.add_argument("--dagbag", action=argparse.BooleanOptionalAction, default=True,
                   help="time DAG file parsing with a DagBag (default: yes)")
    p.add_argument("--seed", type=int, default=2026, help="demo generator seed")
    p.add_argument("--output", default=str(DEFAULT_OUTPUT),
                   help="Markdown file to update (default docs/benchmarks.md; '-' for none)")
    p.add_argument("--json", dest="json_path", type=Path, help="also write raw results here")
    harness.add_storage_argument(p)
    args = p.parse_args(argv)
    if args.stations < 1 or args.days < 1 or args.docs_days < 0:
        p.error("--stations and --days must be >= 1, --docs-days >= 0")
    return BenchOptions(stations=args.stations, days=args.days, start=args.start,
                        workdir=args.workdir.expanduser().resolve(), keep=args.keep,
                        data_docs=args.data_docs, docs_days=min(args.docs_days, args.days),
                        dagbag=args.dagbag, seed=args.seed,
                        output=None if args.output == "-" else Path(args.output).resolve(),
                        json_path=args.json_path, storage=args.storage)


# --- the run ------------------------------------------------------------------------


def run_bench(options: BenchOptions, *, command: str = "") -> dict[str, Any]:
    """Run every measurement; returns the results as plain data (see render_report)."""
    with harness.work_in(options.workdir, keep=options.keep) as layout:
        return _measure(options, layout, command)


def _spawn(phase: str, layout: Layout, env: dict[str, str], spec: dict[str, Any], *,
           required: bool = True) -> dict[str, Any]:
    return harness.spawn(MODULE, phase, layout, env, spec, required=required)


def _measure(options: BenchOptions, layout: Layout, command: str) -> dict[str, Any]:
    started = datetime.now(UTC)
    load_before = harness.load_average()
    say(f"bench: {options.stations} stations x {options.days} days from {options.start} "
        f"in {layout.root}")
    stations = air.write_registry(layout.reference, options.stations)
    clock = time.perf_counter()
    files = air.generate_files(layout.feed, stations, options.start, options.days, options.seed)
    generate_s = time.perf_counter() - clock
    csv_bytes = sum(p.stat().st_size for p in files)
    say(f"- generated {len(files)} files ({csv_bytes / 1e6:.1f} MB) in {generate_s:.1f}s")

    # Children see only the bench's home and registry, whatever the caller's environment.
    env = {"ENVMON_HOME": str(layout.home), "ENVMON_REFERENCE_DIR": str(layout.reference),
           "ENVMON_STORAGE": options.storage}
    say(f"- envmon ingest on {options.storage} (child process)")
    ingest = _spawn("ingest", layout, env, {
        "files": [str(p) for p in files], "data_docs": options.data_docs,
        "docs_files": [str(p) for p in files[:options.docs_days]],
        "docs_home": str(layout.home_docs), "docs_data_docs": not options.data_docs})
    say(f"  {ingest['loop_s']:.1f}s loop + {ingest['startup_s']:.1f}s startup, "
        f"peak {ingest['peak_rss_mb']:.0f} MB")

    floors = []
    for threads in _floor_threads():
        say(f"- floor: DuckDB CSV -> Parquet, {threads} thread(s) (child process)")
        out = layout.floor / f"threads{threads}"
        floor = _spawn(f"floor{threads}", layout, env, {
            "files": [str(p) for p in files], "out": str(out), "threads": threads,
            "carried": air.carried_columns()})
        say(f"  {floor['copy_s']:.1f}s, {floor['rows']:,} rows, "
            f"peak {floor['peak_rss_mb']:.0f} MB")
        floors.append(floor)

    say("- warehouse build and queries (child process)")
    warehouse = _spawn("warehouse", layout, env, {"queries": list(QUERIES)}, required=False)

    dagbag = None
    if options.dagbag:
        say("- DAG files through a DagBag (child process)")
        dagbag = _spawn("dagbag", layout, harness.airflow_env(env, layout),
                        {"dags": str(harness.PROJECT_ROOT / "dags")}, required=False)

    sizes = {"csv_bytes": csv_bytes,
             "landing_bytes": harness.tree_bytes(layout.home / "landing"),
             "lake_hourly_bytes": harness.tree_bytes(layout.home / "lake" / "air_hourly"),
             "lake_bytes": harness.stored_bytes(layout.home),
             "floor_bytes": floors[0]["parquet_bytes"]}
    result = {
        "options": {**asdict(options), "workdir": str(options.workdir)},
        "command": command, "started_at": started.isoformat(timespec="seconds"),
        "load_average": [load_before, harness.load_average()],
        "machine": harness.machine_info(), "generate_s": generate_s, "files": len(files),
        "stations": options.stations, "days": options.days, "sizes": sizes,
        "ingest": ingest, "floors": floors, "warehouse": warehouse, "dagbag": dagbag,
    }
    result["summary"] = summarise(result)
    result["checks"] = invariants(result)
    return result


def _floor_threads() -> list[int]:
    """DuckDB's default (all cores), then one thread: envmon's ingest is single-threaded.

    The first is the one the headline ratio uses.
    """
    cores = os.cpu_count() or 1
    return [cores, 1] if cores > 1 else [1]


# --- child processes ---------------------------------------------------------------


def child_warehouse(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the warehouse and run spec["queries"] on it as an analyst would
    (benchmarks.upkeep runs it too)."""
    from envmon.core.warehouse import connect_read_only
    from envmon.domains import build_warehouse

    clock = time.perf_counter()
    path = build_warehouse()
    build_s = time.perf_counter() - clock
    queries = []
    con = connect_read_only(path)  # as an analyst opens it
    try:
        for label, sql in spec["queries"]:
            clock = time.perf_counter()
            rows = con.execute(sql).fetchall()
            seconds = time.perf_counter() - clock
            queries.append({"label": label, "sql": sql, "seconds": seconds,
                            "rows": len(rows), "sample": [list(r) for r in rows[:3]],
                            "total": sum(r[-1] for r in rows if isinstance(r[-1], int))})
        loaded, cells, rows = con.execute(
            "SELECT (SELECT count(*) FROM air_hourly), "
            "(SELECT count(*) FILTER (WHERE rule = 'parse') FROM quarantine), "
            "(SELECT count(*) FILTER (WHERE rule <> 'parse') FROM quarantine)").fetchone()
    finally:
        con.close()
    return {"build_s": build_s, "queries": queries, "air_hourly_rows": loaded,
            "quarantine_rows": cells + rows, "quarantine_parse": cells,
            "quarantine_checks": rows}


# Child phases by name; "floorN" runs "floor" (N is the thread count).
CHILDREN: dict[str, harness.Runner] = {
    "ingest": air.child_ingest, "floor": air.child_floor, "warehouse": child_warehouse,
    "dagbag": harness.child_dagbag,
}


# --- summary, checks, report ----------------------------------------------------------


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Totals per step, throughput and ratios from the children's raw figures."""
    ingest = result["ingest"]
    runs = ingest["runs"]
    steps = harness.step_totals(runs, startup_s=ingest["startup_s"], loop_s=ingest["loop_s"])
    total = ingest["startup_s"] + ingest["loop_s"]
    per_file = {key: statistics.median(r.get(key, 0.0) for r in runs) for key in
                (*harness.RUN_STEPS, "wall_s")}
    loaded = sum(r["rows_loaded"] for r in runs)
    quarantined = sum(r["rows_quarantined"] for r in runs)
    floor = result["floors"][0]
    summary = {
        "total_s": total, "loop_s": ingest["loop_s"], "steps": steps,
        "per_file_median": per_file, "loaded": loaded, "quarantined": quarantined,
        "rows_in": sum(r["rows_in"] for r in runs), "statuses": harness.count_statuses(runs),
        "station_hours_per_s": loaded / total if total else 0.0,
        "station_hours_per_s_loop": loaded / ingest["loop_s"] if ingest["loop_s"] else 0.0,
        "floor_s": floor["copy_s"], "floor_rows": floor["rows"],
        "floor_usable_rows": floor["usable_rows"],
        "ratio": total / floor["copy_s"] if floor["copy_s"] else None,
    }
    docs = ingest.get("docs")
    if docs and docs["runs"]:
        n = len(docs["runs"])
        same = runs[:n]
        with_docs = docs["runs"] if not ingest["data_docs"] else same
        without = same if not ingest["data_docs"] else docs["runs"]
        summary["docs"] = {
            "files": n,
            "with_mean_s": statistics.fmean(r["wall_s"] for r in with_docs),
            "without_mean_s": statistics.fmean(r["wall_s"] for r in without),
            "with_validate_first_s": with_docs[0]["validate"],
            "with_validate_last_s": with_docs[-1]["validate"],
        }
        summary["docs"]["cost_per_file_s"] = (summary["docs"]["with_mean_s"]
                                              - summary["docs"]["without_mean_s"])
    return summary


def invariants(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Cross-checks between independently counted figures; a failure fails the bench."""
    s = result["summary"]
    wh = result["warehouse"]
    floors = result["floors"]
    checks = [
        ("floor rows agree across thread counts",
         len({f["rows"] for f in floors}) == 1,
         ", ".join(f"{f['threads']} thread(s): {f['rows']:,}" for f in floors)),
        ("every run loaded (no failed run)", s["statuses"].get("failed", 0) == 0,
         ", ".join(f"{k} {v}" for k, v in sorted(s["statuses"].items()))),
    ]
    if "error" in wh:
        checks.append(("warehouse build and queries", False, wh["error"]))
        return [{"name": n, "ok": bool(ok), "detail": d} for n, ok, d in checks]
    monthly = wh["queries"][MONTHLY_QUERY]["total"]
    checks += [
        ("floor station-hours with a usable value = envmon loaded + rows refused by the checks",
         s["floor_usable_rows"] == s["loaded"] + wh["quarantine_checks"],
         f"{s['floor_usable_rows']:,} vs {s['loaded']:,} + {wh['quarantine_checks']:,}"),
        ("warehouse air_hourly rows = envmon loaded",
         wh["air_hourly_rows"] == s["loaded"],
         f"{wh['air_hourly_rows']:,} vs {s['loaded']:,}"),
        ("monthly station-hours sum to envmon loaded", monthly == s["loaded"],
         f"{monthly:,} vs {s['loaded']:,}"),
        ("warehouse quarantine rows = envmon quarantined",
         wh["quarantine_rows"] == s["quarantined"],
         f"{wh['quarantine_rows']:,} vs {s['quarantined']:,}"),
    ]
    return [{"name": n, "ok": bool(ok), "detail": d} for n, ok, d in checks]


def render_report(result: dict[str, Any]) -> str:
    """The results as Markdown (templates/local.md.j2): what ran where, the tables, the checks."""
    ing, wh = result["ingest"], result["warehouse"]
    dag = result.get("dagbag")
    # The memory target is envmon's: the floor's memory is DuckDB's, shown for comparison.
    peak = max(ing["peak_rss_main_mb"], wh.get("peak_rss_mb", 0.0))
    return harness.render(
        "local.md.j2", r=result, s=result["summary"], m=result["machine"], ing=ing,
        floors=result["floors"], wh=wh, sizes=result["sizes"], steps=STEPS, dag=dag,
        possible=result["stations"] * result["days"] * 24,
        dag_slowest=max(dag["files"].values(), default=0.0) if dag and "files" in dag else 0.0,
        peak_ok=peak < 2048)


_SKELETON = f"""# Benchmarks

Written by `make bench` (benchmarks/local.py) between the markers below.

## Results

{RESULTS_START}
{RESULTS_END}
"""


def write_report(path: Path, report: str) -> None:
    """Replace what lies between the results markers of `path`; create it if missing."""
    harness.write_between_markers(path, report, RESULTS_START, RESULTS_END, new_file=_SKELETON,
                                  heading="## Results")


if __name__ == "__main__":
    sys.exit(main())
