"""`make bench-national`: envmon at national size, one domain per process, against a floor.

Issue 7's scale benchmark. For each domain, in a throw-away work directory:

- air: --stations hourly stations (the demo ones plus copies derived the way
  envmon/bench.py derives them), daily `china_sites_YYYYMMDD.csv` files;
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
file's ingest in a separate home. Each domain writes its results JSON as soon
as it finishes (`--results`), so partial results survive; `report` renders
every JSON present into docs/benchmarks.md between the national markers.

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
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from envmon import bench

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
    """`python -m envmon.bench_national DOMAIN... [options]` or `... report`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return _child_main(argv[1], Path(argv[2]))
    args = parse_args(argv)
    if args.domains != ["report"]:
        for domain in args.domains:
            result = run_domain(domain, args, command=_command_line(argv))
            args.results.mkdir(parents=True, exist_ok=True)
            (args.results / f"{domain}.json").write_text(json.dumps(result, indent=1,
                                                                    default=str))
            bench._say(f"{domain}: results written to {args.results / (domain + '.json')}")
    results = load_results(args.results)
    report = render_report(results)
    print(report)
    if args.output is not None and results:
        write_report(args.output, report)
        bench._say(f"report written to {args.output}")
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m envmon.bench_national",
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
    p.add_argument("--output", default=str(bench.DEFAULT_OUTPUT),
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


def _command_line(argv: Sequence[str]) -> str:
    exe = os.path.relpath(sys.executable, bench.PROJECT_ROOT) if sys.executable.startswith(
        str(bench.PROJECT_ROOT)) else sys.executable
    return shlex.join([exe, "-m", "envmon.bench_national", *argv])


# --- one domain ---------------------------------------------------------------------


def run_domain(domain: str, args: argparse.Namespace, *, command: str) -> dict[str, Any]:
    layout = bench._Layout(args.workdir / domain)
    layout.root.parent.mkdir(parents=True, exist_ok=True)
    bench._fresh_workdir(layout.root)
    try:
        return _measure(domain, args, layout, command)
    finally:
        if not args.keep:
            shutil.rmtree(layout.root, ignore_errors=True)


def _measure(domain: str, args: argparse.Namespace, layout: bench._Layout, command: str
             ) -> dict[str, Any]:
    started = datetime.now(UTC)
    load_before = bench._load_average()
    days = getattr(args, f"{domain}_days") or args.days
    first, last = args.start, args.start + timedelta(days=days - 1)
    bench._say(f"{domain}: {days} days from {first} in {layout.root}")
    clock = time.perf_counter()
    files, scale = generate(domain, args, layout, first, last)
    generate_s = time.perf_counter() - clock
    input_bytes = sum(p.stat().st_size for p in files)
    bench._say(f"- generated {len(files)} files ({input_bytes / 1e6:.1f} MB) in "
               f"{generate_s:.1f}s")
    env = {"ENVMON_HOME": str(layout.home), "ENVMON_REFERENCE_DIR": str(layout.reference)}

    bench._say(f"- envmon ingest {domain} (child process)")
    if domain == "air":
        ingest = _air_ingest(layout, env, files)
    else:
        ingest = _spawn("ingest", layout, env, {
            "domain": domain, "files": [str(p) for p in files],
            "as_of": _export_end(last).isoformat()})
    bench._say(f"  {ingest['total_s']:.1f}s, {ingest['rows_loaded']:,} rows, "
               f"peak {ingest['peak_rss_mb']:.0f} MB")
    workers = None
    if args.workers > 1 and domain in WORKER_FORMATS:
        bench._say(f"- envmon ingest {domain} --workers {args.workers} (command line)")
        workers = _spawn("workers", layout, {**env, "ENVMON_HOME": str(layout.root / "home-w")},
                         {"domain": domain, "files": [str(p) for p in files],
                          "workers": args.workers})
        bench._say(f"  {workers['wall_s']:.1f}s, {workers['rows_loaded']:,} rows, "
                   f"largest process {workers['peak_rss_max_mb']:.0f} MB")

    bench._say("- floor: DuckDB raw files -> Parquet (child process)")
    floor_spec = {"domain": domain, "files": [str(p) for p in files],
                  "out": str(layout.floor / "parquet")}
    if domain == "air":
        floor = bench._spawn("floor2", layout, env, {**floor_spec, "threads": os.cpu_count() or 1,
                                                     "carried": bench.carried_columns()})
        floor["seconds"] = floor["copy_s"]
    else:
        floor = _spawn("floor", layout, env, floor_spec)
    bench._say(f"  {floor['seconds']:.1f}s, {floor['rows']:,} rows, "
               f"peak {floor['peak_rss_mb']:.0f} MB")

    bench._say("- warehouse build and commitment-report queries (child process)")
    queries = [(label, sql.format(first=first, last=last)) for label, sql in QUERIES[domain]]
    warehouse = _spawn("warehouse", layout, env, {"queries": queries, "domain": domain},
                       required=False)

    profile = None
    if args.profile:
        bench._say("- cProfile of one file's ingest, separate home (child process)")
        pick = files[min(len(files) - 1, len(files) // 2)]
        profile = _spawn("profile", layout, {**env, "ENVMON_HOME": str(layout.home_docs)},
                         {"domain": domain, "files": [str(pick)],
                          "as_of": _export_end(last).isoformat()}, required=False)
    dagbag = None
    if args.dagbag and domain == DOMAINS[0] or (args.dagbag and "air" not in args.domains
                                                 and domain == args.domains[0]):
        airflow_env = {**env, "AIRFLOW_HOME": str(layout.root / "airflow"),
                       "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__CORE__DAGS_FOLDER": str(bench.PROJECT_ROOT / "dags")}
        dagbag = bench._spawn("dagbag", layout, airflow_env,
                              {"dags": str(bench.PROJECT_ROOT / "dags")}, required=False)
    return {
        "domain": domain, "command": command, "started_at": started.isoformat(timespec="seconds"),
        "load_average": [load_before, bench._load_average()], "machine": bench.machine_info(),
        "days": days, "first": first.isoformat(), "last": last.isoformat(),
        "scale": scale, "files": len(files), "input_bytes": input_bytes,
        "generate_s": generate_s, "ingest": ingest, "workers": workers, "floor": floor,
        "warehouse": warehouse,
        "profile": profile, "dagbag": dagbag,
        "lake_bytes": bench._tree_bytes(layout.home / "lake"),
    }


def _export_end(day: date) -> datetime:
    """23:00 Beijing of `day` (the demo's export time), as an aware datetime."""
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)


# --- inputs -------------------------------------------------------------------------


def generate(domain: str, args: argparse.Namespace, layout: bench._Layout, first: date,
             last: date) -> tuple[list[Path], dict[str, Any]]:
    """The domain's raw files, with its real demo generator; and what they hold."""
    if domain == "air":
        stations = bench.write_registry(layout.reference, args.stations)
        files = bench.generate_files(layout.feed, stations, first, (last - first).days + 1,
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
    for name in (reference.CITIES_FILE, reference.PROVINCES_FILE):
        shutil.copyfile(reference.reference_path(name), directory / name)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(out)
    target.write_text(buffer.getvalue(), encoding="utf-8")
    return len(out)


# --- children -----------------------------------------------------------------------


def _spawn(phase: str, layout: bench._Layout, env: dict[str, str], spec: dict[str, Any], *,
           required: bool = True) -> dict[str, Any]:
    """bench._spawn, but running this module's children."""
    layout.results.mkdir(parents=True, exist_ok=True)
    spec_path = layout.results / f"{phase}.spec.json"
    result_path = layout.results / f"{phase}.json"
    spec_path.write_text(json.dumps({**spec, "result": str(result_path)}, default=str))
    clock = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "envmon.bench_national", "--child", phase,
                           str(spec_path)], cwd=bench.PROJECT_ROOT, env={**os.environ, **env},
                          check=False)
    wall = time.perf_counter() - clock
    if done.returncode != 0:
        error = (json.loads(result_path.read_text()).get("error") if result_path.exists()
                 else None) or f"exit code {done.returncode}"
        if required:
            raise SystemExit(f"bench: child {phase!r} failed: {error}")
        bench._say(f"  FAILED: {error}")
        return {"error": error, "process_wall_s": wall}
    result = json.loads(result_path.read_text())
    result["process_wall_s"] = wall
    return result


def _child_main(phase: str, spec_path: Path) -> int:
    spec = json.loads(spec_path.read_text())
    runners = {"ingest": _child_ingest, "workers": _child_workers, "floor": _child_floor,
               "warehouse": _child_warehouse, "profile": _child_profile}
    if phase not in runners:
        raise SystemExit(f"bench: unknown child phase {phase!r}")
    try:
        result = runners[phase](spec)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        Path(spec["result"]).write_text(json.dumps({"error": f"{type(exc).__name__}: {first}"}))
        raise
    result["peak_rss_mb"] = bench.peak_rss_mb()
    Path(spec["result"]).write_text(json.dumps(result, default=str))
    return 0


def _air_ingest(layout: bench._Layout, env: dict[str, str], files: list[Path]
                ) -> dict[str, Any]:
    """envmon.bench's own air ingest child, summarised like the other domains'."""
    raw = bench._spawn("ingest", layout, env, {
        "files": [str(p) for p in files], "data_docs": False, "docs_files": [],
        "docs_home": str(layout.home_docs), "docs_data_docs": False})
    return summarise_runs(raw["runs"], startup_s=raw["startup_s"], loop_s=raw["loop_s"],
                          cpu_s=raw["cpu_s"], peak_rss_mb=raw["peak_rss_main_mb"])


def summarise_runs(runs: list[dict[str, Any]], *, startup_s: float, loop_s: float,
                   cpu_s: float, peak_rss_mb: float, refresh_s: float = 0.0,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Step totals (RunRecord.timings + landing), shares and throughput of one ingest."""
    keys = ("landing", "parse", "validate", "load", "derive")
    steps = {k: sum(r.get(k, 0.0) for r in runs) for k in keys}
    steps["other"] = max(loop_s - sum(steps.values()), 0.0)
    steps["startup"] = startup_s
    if refresh_s:
        steps["refresh"] = refresh_s
    total = startup_s + loop_s + refresh_s
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    loaded = sum(r["rows_loaded"] for r in runs)
    return {"total_s": total, "loop_s": loop_s, "startup_s": startup_s, "cpu_s": cpu_s,
            "steps": steps, "rows_in": sum(r["rows_in"] for r in runs), "rows_loaded": loaded,
            "rows_quarantined": sum(r["rows_quarantined"] for r in runs),
            "statuses": statuses, "runs": len(runs),
            "per_file_median_s": statistics.median(r["wall_s"] for r in runs) if runs else 0.0,
            "rows_per_s": loaded / total if total else 0.0, "peak_rss_mb": peak_rss_mb,
            **(extra or {})}


def _ingest_call(domain: str) -> tuple[Any, Any]:
    """(module, call(paths, reporter) -> records) as `envmon ingest DOMAIN` does it."""
    if domain == "water":
        import envmon.water.ingest as module

        return module, lambda paths, reporter: module.ingest_files(
            paths, "cnemc-water", data_docs=False, reporter=reporter)
    if domain == "hazwaste":
        import envmon.hazwaste.ingest as module

        # Refreshed below, timed on its own (the CLI refreshes once after all files).
        return module, lambda paths, reporter: module.ingest_files(
            paths, "manifest-json", source="demo", data_docs=False, refresh=False,
            reporter=reporter)
    if domain == "air":
        import envmon.air.ingest as module

        return module, lambda paths, reporter: module.ingest_files(
            paths, bench.FORMAT, data_docs=False, reporter=reporter)
    raise SystemExit(f"bench: unknown domain {domain!r}")


def _child_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    clock = time.perf_counter()
    import great_expectations  # noqa: F401  (the one-off import is "startup", not "validate")

    import checks.runner  # noqa: F401

    module, call = _ingest_call(spec["domain"])
    startup = time.perf_counter() - clock
    landing = bench.time_landing(module)
    ingested = bench.ingest_command(call, [Path(p) for p in spec["files"]], landing)
    refresh_s, extra = 0.0, {}
    if spec["domain"] == "hazwaste":
        before = bench.peak_rss_mb()  # VmHWM is a high-water mark: the refresh's own share
        clock = time.perf_counter()
        summary = module.refresh_derived(as_of=datetime.fromisoformat(spec["as_of"]))
        refresh_s = time.perf_counter() - clock
        extra = {"manifests": summary["manifests"], "anomalies": summary["anomalies"],
                 "peak_rss_before_refresh_mb": before}
        bench._say(f"  refresh: {summary['manifests']:,} manifests, "
                   f"{summary['anomalies']:,} anomalies, {refresh_s:.1f}s")
    return summarise_runs(ingested["runs"], startup_s=startup, loop_s=ingested["loop_s"],
                          cpu_s=time.process_time(), peak_rss_mb=bench.peak_rss_mb(),
                          refresh_s=refresh_s, extra=extra)


WORKER_FORMATS = {"air": bench.FORMAT, "water": "cnemc-water"}


def _child_workers(spec: dict[str, Any]) -> dict[str, Any]:
    """`envmon ingest DOMAIN --workers N` as a bureau would run a backfill on N cores.

    Wall time from here; CPU and the largest process's peak from
    RUSAGE_CHILDREN (the command and its workers, all waited for); rows from
    the ledger the command wrote. Includes the command's warehouse rebuild.
    """
    command = [sys.executable, "-m", "envmon.cli", "ingest", spec["domain"], "--format",
               WORKER_FORMATS[spec["domain"]], "--no-data-docs", "--workers",
               str(spec["workers"]), *spec["files"]]
    clock = time.perf_counter()
    done = subprocess.run(command, cwd=bench.PROJECT_ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - clock
    if done.returncode != 0:
        raise RuntimeError(f"envmon ingest --workers exited {done.returncode}: "
                           f"{done.stderr.strip()[-300:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    import duckdb

    con = duckdb.connect()
    try:
        runs, loaded = con.execute(
            "SELECT count(*), sum(rows_loaded) FROM read_parquet(?)",
            [os.path.join(os.environ["ENVMON_HOME"], "ledger", "runs", "*.parquet")]).fetchall()[0]
    finally:
        con.close()
    return {"workers": spec["workers"], "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "runs": runs, "rows_loaded": int(loaded or 0),
            "peak_rss_max_mb": usage.ru_maxrss / 1024}


def _child_profile(spec: dict[str, Any]) -> dict[str, Any]:
    """cProfile of one file's ingest (after a warm-up import), top functions by own time."""
    import cProfile
    import pstats

    import great_expectations  # noqa: F401

    import checks.runner  # noqa: F401

    module, call = _ingest_call(spec["domain"])
    path = Path(spec["files"][0])
    profiler = cProfile.Profile()
    clock = time.perf_counter()
    profiler.enable()
    call([path], None)
    if spec["domain"] == "hazwaste":
        module.refresh_derived(as_of=datetime.fromisoformat(spec["as_of"]))
    profiler.disable()
    wall = time.perf_counter() - clock
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        rows.append({"function": f"{_short(filename)}:{line}({name})", "calls": calls,
                     "tottime": tottime, "cumtime": cumtime})
    by_own = sorted(rows, key=lambda r: r["tottime"], reverse=True)[:12]
    # envmon's own functions, without the wrappers that hold the whole run.
    ours = sorted((r for r in rows if r["function"].startswith(("envmon/", "checks/"))
                   and r["cumtime"] < 0.8 * wall),
                  key=lambda r: r["cumtime"], reverse=True)[:12]
    return {"file": path.name, "wall_s": wall, "top_own": by_own, "top_ours_cum": ours}


def _short(filename: str) -> str:
    for marker in ("site-packages/", str(bench.PROJECT_ROOT) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def floor_sql(domain: str, files: Sequence[str], out: str) -> str:
    """The floor for water and hazwaste: the raw JSON straight into Parquet, one statement.

    water: every tbody row of every page, the 11 automatic items' raw values
    (the span title) cast to DOUBLE, partitioned by the page's date.
    hazwaste: every manifest of every export as one row (nested lines and
    events kept as lists), partitioned by export date. No validation,
    registry, lifecycle, anomalies, marts, landing or ledger.
    """
    listing = ", ".join(bench._sql_string(f) for f in files)
    target = (f"TO {bench._sql_string(out)} (FORMAT parquet, PARTITION_BY (\"date\"), "
              "COMPRESSION zstd)")
    if domain == "water":
        from_water = (f"read_json([{listing}], columns = {{'tbody': 'VARCHAR[][]'}}, "
                      "filename = true, format = 'auto')")
        items = ("water_temp", "ph", "do", "conductivity", "turbidity", "codmn", "nh3n", "tp",
                 "tn", "chla", "algae_density")
        values = ",\n           ".join(
            f"TRY_CAST(regexp_extract(r[{6 + i}], '原始值：([^'']*)''', 1) AS DOUBLE) "
            f"AS {name}" for i, name in enumerate(items))
        return f"""
COPY (
    SELECT strptime(regexp_extract(filename, '_(\\d{{8}})T', 1), '%Y%m%d')::DATE AS "date",
           r[1] AS province, regexp_extract(r[3], '>([^<]*)<', 1) AS section_name,
           r[4] AS slot, r[5] AS feed_class,
           {values}
    FROM (SELECT filename, unnest(tbody) AS r FROM {from_water})
) {target}
"""
    source = (f"read_json([{listing}], filename = true, format = 'auto', "
              "maximum_object_size = 1073741824)")
    return f"""
COPY (
    SELECT strptime(regexp_extract(filename, 'manifests_(\\d{{8}})', 1), '%Y%m%d')::DATE
             AS "date", unnest(m)
    FROM (SELECT filename, unnest(manifests) AS m FROM {source})
) {target}
"""


def _child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    Path(spec["out"]).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    clock, cpu = time.perf_counter(), time.process_time()
    con.execute(floor_sql(spec["domain"], spec["files"], spec["out"]))
    seconds, cpu_s = time.perf_counter() - clock, time.process_time() - cpu
    glob = bench._sql_string(str(Path(spec["out"]) / "*" / "*.parquet"))
    rows = con.execute(f"SELECT count(*) FROM read_parquet({glob}, hive_partitioning = true, "
                       "union_by_name = true)").fetchall()[0][0]
    con.close()
    return {"seconds": seconds, "cpu_s": cpu_s, "rows": rows,
            "threads": os.cpu_count() or 1, "parquet_bytes": bench._tree_bytes(Path(spec["out"]))}


def _child_warehouse(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the views, then each report query twice (first run and warm)."""
    from envmon.core.warehouse import build, connect_read_only

    clock = time.perf_counter()
    path = build()
    build_s = time.perf_counter() - clock
    queries = []
    con = connect_read_only(path)
    try:
        for label, sql in spec["queries"]:
            times = []
            for _ in range(2):
                clock = time.perf_counter()
                rows = con.execute(sql).fetchall()
                times.append(time.perf_counter() - clock)
            queries.append({"label": label, "sql": sql, "first_s": times[0], "warm_s": times[1],
                            "rows": len(rows), "sample": [list(r) for r in rows[:3]]})
    finally:
        con.close()
    return {"build_s": build_s, "queries": queries,
            "total_first_s": sum(q["first_s"] for q in queries),
            "total_warm_s": sum(q["warm_s"] for q in queries)}


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


def _n(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def render_report(results: dict[str, dict[str, Any]]) -> str:
    if not results:
        return "No national results yet.\n"
    any_result = next(iter(results.values()))
    m = any_result["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']:.0f} GB RAM; Python "
             f"{m['python']}, pandas {m['versions']['pandas']}, duckdb "
             f"{m['versions']['duckdb']}, GX {m['versions']['great-expectations']}.", ""]
    lines += ["| domain | measured input | envmon end to end | rows/s (hazwaste: manifests/s) "
              "| floor | "
              "ratio envmon/floor (wall, CPU) | envmon peak RSS | floor peak RSS | load avg "
              "start/end |", "|---|---|---|---|---|---|---|---|---|"]
    for domain, r in results.items():
        ing, fl = r["ingest"], r["floor"]
        scale = r["scale"]
        what = {"air": f"{scale.get('stations', 0):,} stations x {r['days']} days",
                "water": f"{scale.get('sections', 0):,} sections x {r['days']} days x 6",
                "hazwaste": f"{scale.get('manifests_per_day', 0):,}/day x {r['days']} days"
                }[domain]
        rows = (f"{ing['rows_loaded']:,} {scale['unit']}" if domain != "hazwaste" else
                f"{ing.get('manifests', 0):,} manifests ({ing['rows_loaded']:,} manifest rows)")
        la = " / ".join(_n(x, 2) for x in r["load_average"])
        lines.append(
            f"| {domain} | {what}: {rows}, {r['files']} files, {r['input_bytes'] / 1e6:,.0f} MB "
            f"| {_n(ing['total_s'])} s (CPU {_n(ing['cpu_s'])} s) "
            f"| {_n(_rate(r), 0)} | {_n(fl['seconds'])} s (CPU {_n(fl['cpu_s'])} s) "
            f"| {_n(ing['total_s'] / fl['seconds'])}x, {_n(ing['cpu_s'] / fl['cpu_s'])}x "
            f"| {_n(ing['peak_rss_mb'], 0)} MB | {_n(fl['peak_rss_mb'], 0)} MB | {la} |")
    parallel = {d: r["workers"] for d, r in results.items() if r.get("workers")}
    if parallel:
        lines += ["", "The same files through `envmon ingest DOMAIN --workers N` (a fresh home; "
                  "N processes, each a contiguous slice of the files; wall time includes the "
                  "command's warehouse rebuild; memory is the largest process, the machine "
                  "holds up to N of them):", "",
                  "| domain | workers | wall | CPU | ratio to the floor (wall, CPU) | rows loaded "
                  "| largest process |", "|---|---|---|---|---|---|---|"]
        for domain, w in parallel.items():
            fl = results[domain]["floor"]
            lines.append(f"| {domain} | {w['workers']} | {_n(w['wall_s'])} s | {_n(w['cpu_s'])} s "
                         f"| {_n(w['wall_s'] / fl['seconds'])}x, {_n(w['cpu_s'] / fl['cpu_s'])}x "
                         f"| {w['rows_loaded']:,} | {_n(w['peak_rss_max_mb'], 0)} MB |")
    lines += ["", "Share of envmon's time per step (RunRecord.timings summed over all runs; "
              "landing timed around land_file; hazwaste's refresh is the one lifecycle and "
              "anomaly recomputation after all files):", "",
              "| domain | startup | landing | parse | validate | load | derive | refresh | "
              "other | median per file |", "|---|---|---|---|---|---|---|---|---|---|"]
    for domain, r in results.items():
        ing = r["ingest"]
        total = ing["total_s"]
        cells = [f"{_n(ing['steps'].get(k, 0.0))} s "
                 f"({_n(100 * ing['steps'].get(k, 0.0) / total, 0)} %)"
                 for k in ("startup", "landing", "parse", "validate", "load", "derive",
                           "refresh", "other")]
        lines.append(f"| {domain} | {' | '.join(cells)} | {_n(ing['per_file_median_s'], 3)} s |")
    lines += ["", "Commitment-report queries over the loaded period (warehouse views, "
              "read-only connection; first run / warm):", "",
              "| domain | query | seconds (first / warm) | rows |", "|---|---|---|---|"]
    for domain, r in results.items():
        wh = r["warehouse"]
        if "error" in wh:
            lines.append(f"| {domain} | **failed**: {wh['error']} | | |")
            continue
        lines.append(f"| {domain} | warehouse build (views) | {_n(wh['build_s'], 3)} | |")
        for q in wh["queries"]:
            lines.append(f"| {domain} | {q['label']} | {_n(q['first_s'], 3)} / "
                         f"{_n(q['warm_s'], 3)} | {q['rows']:,} |")
    lines += ["", "Full year, **extrapolated** linearly from the measured fraction "
              "(throughput held constant; query time scaled with rows, which overstates "
              "DuckDB's fixed costs):", "",
              "| domain | measured fraction | year rows | envmon ingest | floor | "
              "report queries |", "|---|---|---|---|---|---|"]
    query_total = 0.0
    for domain, r in results.items():
        x = extrapolate(r)
        query_total += x["year_queries_s"] or 0.0
        lines.append(f"| {domain} | {r['days']}/{YEAR_DAYS} days | {x['year_rows']:,} "
                     f"{r['scale']['unit']} | {_n((x['year_ingest_s'] or 0) / 60)} min | "
                     f"{_n(x['year_floor_s'] / 60)} min | {_n(x['year_queries_s'], 2)} s |")
    lines += ["", "Targets (issue 7):", "", "| target | measured | met |", "|---|---|---|"]
    for domain, r in results.items():
        if domain in RATIO_TARGET:
            ratio = r["ingest"]["total_s"] / r["floor"]["seconds"]
            text = (f"{_n(ratio)}x wall, {_n(r['ingest']['cpu_s'] / r['floor']['cpu_s'])}x CPU "
                    "(one process)")
            if r.get("workers"):
                w = r["workers"]
                ratio = min(ratio, w["wall_s"] / r["floor"]["seconds"])
                text += (f"; {_n(w['wall_s'] / r['floor']['seconds'])}x wall with "
                         f"--workers {w['workers']}")
            lines.append(f"| {domain}: ingest <= {RATIO_TARGET[domain]:.0f}x the floor | {text} "
                         f"| {'yes' if ratio <= RATIO_TARGET[domain] else 'NO'} |")
    peaks = {d: r["ingest"]["peak_rss_mb"] for d, r in results.items()}
    peaks.update({f"{d} --workers (largest process)": r["workers"]["peak_rss_max_mb"]
                  for d, r in results.items() if r.get("workers")})
    peaks.update({f"{d} warehouse": r["warehouse"].get("peak_rss_mb", 0.0)
                  for d, r in results.items()})
    worst = max(peaks.values())
    lines.append(f"| peak memory < 2 GB | "
                 f"{', '.join(f'{k} {_n(v, 0)} MB' for k, v in peaks.items())} (measured "
                 f"fraction) | {'yes' if worst < MEMORY_TARGET_MB else 'NO'} at the measured "
                 "size |")
    measured_q = sum(r["warehouse"].get("total_first_s", 0.0) for r in results.values())
    lines.append(f"| a year's report < {REPORT_TARGET_S:.0f} s | {_n(measured_q, 2)} s measured "
                 f"over the fractions; {_n(query_total, 2)} s extrapolated to a year | "
                 f"{'yes' if query_total < REPORT_TARGET_S else 'NO (extrapolated)'} |")
    dag = next((r["dagbag"] for r in results.values() if r.get("dagbag")), None)
    if dag and "error" not in dag:
        slowest = max(dag["files"].values(), default=0.0)
        lines.append(f"| DAG files parse < 1 s each | slowest {_n(slowest, 3)} s "
                     f"({len(dag['files'])} files, {dag['import_errors']} import errors) | "
                     f"{'yes' if slowest < 1 and not dag['import_errors'] else 'NO'} |")
    lines += ["", "cProfile of one file's ingest (separate home), top functions by own time:", ""]
    for domain, r in results.items():
        prof = r.get("profile")
        if not prof or "error" in prof:
            continue
        lines.append(f"- **{domain}** ({prof['file']}, {_n(prof['wall_s'], 2)} s under the "
                     "profiler): " + "; ".join(
                         f"`{p['function']}` {_n(p['tottime'], 3)} s" for p in prof["top_own"][:6])
                     + ". envmon functions by cumulative time: " + "; ".join(
                         f"`{p['function']}` {_n(p['cumtime'], 3)} s"
                         for p in prof["top_ours_cum"][:6]
                         if p["cumtime"] < 0.8 * prof["wall_s"]))
    lines += ["", "Commands:", ""]
    lines += [f"- {d}: `{r['command']}` (started {r['started_at']})" for d, r in results.items()]
    return "\n".join(lines) + "\n"


def write_report(path: Path, report: str) -> None:
    """Replace the block between the national markers (append the section if missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{START_MARK}\n{report.rstrip()}\n{END_MARK}"
    if START_MARK in text and END_MARK in text:
        pattern = re.compile(re.escape(START_MARK) + r".*?" + re.escape(END_MARK), re.S)
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n## National scale (issue 7)\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
