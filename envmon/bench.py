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

It prints a Markdown report and writes it between the results markers of
docs/benchmarks.md (the prose around them is kept), or to --output.

Only the standard library is imported at module level: the floor child must
not pay for (or count the memory of) pandas and Great Expectations.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported lazily: the floor child must not load it
    import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = PROJECT_ROOT / "docs" / "benchmarks.md"
DEFAULT_WORKDIR = Path("var") / "bench"
# A work directory is wiped before each run; the marker proves the bench made
# it, so a mistyped --workdir can never delete someone's data.
MARKER = ".envmon-bench"
RESULTS_START = "<!-- bench:results:start -->"
RESULTS_END = "<!-- bench:results:end -->"

# Derived stations get codes from 9501A up: the bundled demo registry uses
# 9001A-9181A, so the ranges cannot collide for any sensible --stations.
EXTRA_CODE_START = 9501
# The generator is keyed by (seed, station, hour), so generating month by
# month gives the same bytes as one call while bounding its memory (a year
# for 300 stations in one call holds ~40 M Python strings).
GENERATE_CHUNK_DAYS = 31
FORMAT = "china-sites"

# The feed's 15 row types and the Parquet column each becomes in the floor.
FEED_TYPES: dict[str, str] = {
    "AQI": "feed_aqi", "PM2.5": "pm25", "PM2.5_24h": "pm25_24h", "PM10": "pm10",
    "PM10_24h": "pm10_24h", "SO2": "so2", "SO2_24h": "so2_24h", "NO2": "no2",
    "NO2_24h": "no2_24h", "O3": "o3", "O3_24h": "o3_24h", "O3_8h": "o3_8h",
    "O3_8h_24h": "o3_8h_24h", "CO": "co", "CO_24h": "co_24h",
}

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


# --- entry point --------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m envmon.bench [options]`; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return _child_main(argv[1], Path(argv[2]))
    options = parse_args(argv)
    result = run_bench(options, command=_command_line(argv))
    report = render_report(result)
    print(report)
    if options.output is not None:
        write_report(options.output, report)
        print(f"\nreport written to {options.output}", file=sys.stderr)
    if options.json_path is not None:
        options.json_path.parent.mkdir(parents=True, exist_ok=True)
        options.json_path.write_text(json.dumps(result, indent=1, default=str))
    failed = [c for c in result["checks"] if not c["ok"]]
    for check in failed:
        print(f"bench check failed: {check['name']}: {check['detail']}", file=sys.stderr)
    return 1 if failed else 0


def parse_args(argv: Sequence[str]) -> BenchOptions:
    """Command-line options; paths are made absolute (children run from the project root)."""
    p = argparse.ArgumentParser(prog="python -m envmon.bench",
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
    args = p.parse_args(argv)
    if args.stations < 1 or args.days < 1 or args.docs_days < 0:
        p.error("--stations and --days must be >= 1, --docs-days >= 0")
    return BenchOptions(stations=args.stations, days=args.days, start=args.start,
                        workdir=args.workdir.expanduser().resolve(), keep=args.keep,
                        data_docs=args.data_docs, docs_days=min(args.docs_days, args.days),
                        dagbag=args.dagbag, seed=args.seed,
                        output=None if args.output == "-" else Path(args.output).resolve(),
                        json_path=args.json_path)


def _command_line(argv: Sequence[str]) -> str:
    exe = os.path.relpath(sys.executable, PROJECT_ROOT) if sys.executable.startswith(
        str(PROJECT_ROOT)) else sys.executable
    return shlex.join([exe, "-m", "envmon.bench", *argv])


# --- the run ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    root: Path

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def feed(self) -> Path:
        return self.root / "feed"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def home_docs(self) -> Path:
        return self.root / "home_docs"

    @property
    def floor(self) -> Path:
        return self.root / "floor"

    @property
    def results(self) -> Path:
        return self.root / "results"


def run_bench(options: BenchOptions, *, command: str = "") -> dict[str, Any]:
    """Run every measurement; returns the results as plain data (see render_report)."""
    layout = _Layout(options.workdir)
    _fresh_workdir(layout.root)
    try:
        return _measure(options, layout, command)
    finally:
        if not options.keep:
            shutil.rmtree(layout.root, ignore_errors=True)


def _measure(options: BenchOptions, layout: _Layout, command: str) -> dict[str, Any]:
    started = datetime.now(UTC)
    load_before = _load_average()
    _say(f"bench: {options.stations} stations x {options.days} days from {options.start} "
         f"in {layout.root}")
    stations = write_registry(layout.reference, options.stations)
    clock = time.perf_counter()
    files = generate_files(layout.feed, stations, options.start, options.days, options.seed)
    generate_s = time.perf_counter() - clock
    csv_bytes = sum(p.stat().st_size for p in files)
    _say(f"- generated {len(files)} files ({csv_bytes / 1e6:.1f} MB) in {generate_s:.1f}s")

    # Children see only the bench's home and registry, whatever the caller's environment.
    env = {"ENVMON_HOME": str(layout.home), "ENVMON_REFERENCE_DIR": str(layout.reference)}
    _say("- envmon ingest (child process)")
    ingest = _spawn("ingest", layout, env, {
        "files": [str(p) for p in files], "data_docs": options.data_docs,
        "docs_files": [str(p) for p in files[:options.docs_days]],
        "docs_home": str(layout.home_docs), "docs_data_docs": not options.data_docs})
    _say(f"  {ingest['loop_s']:.1f}s loop + {ingest['startup_s']:.1f}s startup, "
         f"peak {ingest['peak_rss_mb']:.0f} MB")

    floors = []
    for threads in _floor_threads():
        _say(f"- floor: DuckDB CSV -> Parquet, {threads} thread(s) (child process)")
        out = layout.floor / f"threads{threads}"
        floor = _spawn(f"floor{threads}", layout, env, {
            "files": [str(p) for p in files], "out": str(out), "threads": threads,
            "carried": carried_columns()})
        _say(f"  {floor['copy_s']:.1f}s, {floor['rows']:,} rows, "
             f"peak {floor['peak_rss_mb']:.0f} MB")
        floors.append(floor)

    _say("- warehouse build and queries (child process)")
    warehouse = _spawn("warehouse", layout, env, {"queries": list(QUERIES)}, required=False)

    dagbag = None
    if options.dagbag:
        _say("- DAG files through a DagBag (child process)")
        airflow_env = {**env, "AIRFLOW_HOME": str(layout.root / "airflow"),
                       "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags")}
        dagbag = _spawn("dagbag", layout, airflow_env, {"dags": str(PROJECT_ROOT / "dags")},
                        required=False)

    sizes = {"csv_bytes": csv_bytes,
             "landing_bytes": _tree_bytes(layout.home / "landing"),
             "lake_hourly_bytes": _tree_bytes(layout.home / "lake" / "air_hourly"),
             "lake_bytes": _tree_bytes(layout.home / "lake"),
             "floor_bytes": floors[0]["parquet_bytes"]}
    result = {
        "options": {**asdict(options), "workdir": str(options.workdir)},
        "command": command, "started_at": started.isoformat(timespec="seconds"),
        "load_average": [load_before, _load_average()],
        "machine": machine_info(), "generate_s": generate_s, "files": len(files),
        "stations": options.stations, "days": options.days, "sizes": sizes,
        "ingest": ingest, "floors": floors, "warehouse": warehouse, "dagbag": dagbag,
    }
    result["summary"] = summarise(result)
    result["checks"] = invariants(result)
    return result


def carried_columns() -> list[str]:
    """Floor columns of the feed types envmon keeps (the parser drops O3_8h and the like)."""
    from envmon.air.sources.china_sites import TYPES

    return [FEED_TYPES[kind] for kind, column in TYPES.items() if column is not None]


def _floor_threads() -> list[int]:
    """DuckDB's default (all cores), then one thread: envmon's ingest is single-threaded.

    The first is the one the headline ratio uses.
    """
    cores = os.cpu_count() or 1
    return [cores, 1] if cores > 1 else [1]


def _fresh_workdir(root: Path) -> None:
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise SystemExit(f"bench: {root} exists, is not empty and was not made by the bench; "
                         "choose another --workdir")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by envmon.bench; wiped on every run\n")


def _load_average() -> float | None:
    """1-minute load average: other work on the machine inflates every wall time."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- stations and files ------------------------------------------------------------


def bench_stations(base: pd.DataFrame, count: int) -> pd.DataFrame:
    """`count` stations: the demo ones, then derived copies with new codes.

    A copy keeps its template's city (so the city marts have more stations to
    average, as in the real network) and moves 1-4 km, so the generator's
    north-south gradient gives it slightly different values.
    """
    import pandas as pd

    demo = base.loc[base["demo"]].reset_index(drop=True)
    if count <= len(demo):
        return demo.head(count).reset_index(drop=True)
    extra = []
    for i in range(count - len(demo)):
        template = demo.iloc[i % len(demo)]
        nudge = 0.01 + 0.01 * (i % 4)
        extra.append({
            "station_code": f"{EXTRA_CODE_START + i}A",
            "station_name": f"{template['station_name']} (bench copy {i // len(demo) + 1})",
            "city_code": template["city_code"],
            "longitude": round(float(template["longitude"]) + nudge, 4),
            "latitude": round(float(template["latitude"]) - nudge / 2, 4),
            "demo": True,
        })
    extra_frame = pd.DataFrame(extra)
    clash = set(extra_frame["station_code"]) & set(base["station_code"])
    if clash:
        raise SystemExit(f"bench: derived station codes already registered: {sorted(clash)[:5]}")
    return pd.concat([demo, extra_frame], ignore_index=True)


def write_registry(directory: Path, count: int) -> pd.DataFrame:
    """Write the registry plus bench stations as an ENVMON_REFERENCE_DIR; returns the stations.

    cities.csv and provinces.csv are copied too: they must be the versions the
    registry was validated against, whatever ENVMON_REFERENCE_DIR the caller has.
    """
    import pandas as pd

    from envmon.core import reference

    base = reference.load_air_stations()
    stations = bench_stations(base, count)
    registered = pd.concat([base, stations[~stations["station_code"].isin(base["station_code"])]],
                           ignore_index=True)
    directory.mkdir(parents=True, exist_ok=True)
    for name in (reference.CITIES_FILE, reference.PROVINCES_FILE):
        shutil.copyfile(reference.reference_path(name), directory / name)
    out = registered.loc[:, list(reference.AIR_STATION_COLUMNS)].copy()
    out["demo"] = out["demo"].map({True: "true", False: "false"})
    out.to_csv(directory / reference.AIR_STATIONS_FILE, index=False)
    return stations


def generate_files(out_dir: Path, stations: pd.DataFrame, start: date, days: int, seed: int
                   ) -> list[Path]:
    """The daily files, with the real demo generator, a month at a time."""
    from envmon.demo.air import generate_china_sites

    paths: list[Path] = []
    first, last = start, start + timedelta(days=days - 1)
    while first <= last:
        end = min(first + timedelta(days=GENERATE_CHUNK_DAYS - 1), last)
        paths += generate_china_sites(out_dir, first, end, seed=seed, stations=stations)
        first = end + timedelta(days=1)
    return paths


# --- child processes ---------------------------------------------------------------


def _spawn(phase: str, layout: _Layout, env: dict[str, str], spec: dict[str, Any], *,
           required: bool = True) -> dict[str, Any]:
    """Run one phase in a fresh interpreter, so its peak RSS and imports are its own.

    A phase that is not `required` (warehouse, DagBag) returns {"error": ...}
    when it fails: minutes of ingest figures are not thrown away because a SQL
    or DAG file elsewhere in the tree is broken; the report and the checks say so.
    """
    layout.results.mkdir(parents=True, exist_ok=True)
    spec_path = layout.results / f"{phase}.spec.json"
    spec_path.write_text(json.dumps({**spec, "result": str(layout.results / f"{phase}.json")}))
    clock = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "envmon.bench", "--child", phase,
                           str(spec_path)], cwd=PROJECT_ROOT, env={**os.environ, **env},
                          check=False)
    wall = time.perf_counter() - clock
    result_path = layout.results / f"{phase}.json"
    if done.returncode != 0:
        error = (json.loads(result_path.read_text()).get("error") if result_path.exists()
                 else None) or f"exit code {done.returncode}"
        if required:
            raise SystemExit(f"bench: child {phase!r} failed: {error}")
        _say(f"  FAILED: {error}")
        return {"error": error, "process_wall_s": wall}
    result = json.loads(result_path.read_text())
    result["process_wall_s"] = wall
    # Kept beside the child's own VmHWM as a cross-check: RUSAGE_CHILDREN is the
    # largest of all children so far, so it only says something while it grows.
    result["rusage_children_max_mb"] = resource.getrusage(
        resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def _child_main(phase: str, spec_path: Path) -> int:
    spec = json.loads(spec_path.read_text())
    runner: Callable[[dict[str, Any]], dict[str, Any]]
    if phase == "ingest":
        runner = _child_ingest
    elif phase.startswith("floor"):
        runner = _child_floor
    elif phase == "warehouse":
        runner = _child_warehouse
    elif phase == "dagbag":
        runner = _child_dagbag
    else:
        raise SystemExit(f"bench: unknown child phase {phase!r}")
    try:
        result = runner(spec)
    except Exception as exc:
        # The traceback goes to stderr as usual; the parent gets the one-line cause.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        Path(spec["result"]).write_text(json.dumps({"error": f"{type(exc).__name__}: {first}"}))
        raise
    result["peak_rss_mb"] = peak_rss_mb()
    Path(spec["result"]).write_text(json.dumps(result, default=str))
    return 0


def peak_rss_mb() -> float:
    """This process's RSS high-water mark (VmHWM), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _child_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    clock = time.perf_counter()
    # What `envmon ingest` imports before its first file; GX is imported here
    # rather than inside the first validate, so that "validate" is steady-state
    # work and the one-off import shows as its own line.
    import great_expectations  # noqa: F401

    import checks.runner  # noqa: F401
    import envmon.air.ingest as air_ingest

    startup = time.perf_counter() - clock
    landing = time_landing(air_ingest)
    main_run = ingest_command(_air_call(air_ingest, spec["data_docs"]),
                              [Path(p) for p in spec["files"]], landing)
    peak_main = peak_rss_mb()  # before the Data Docs pass can raise it
    cpu_main = time.process_time()  # startup + main loop, all threads

    docs_run = None
    if spec["docs_files"]:
        os.environ["ENVMON_HOME"] = spec["docs_home"]
        docs_run = ingest_command(_air_call(air_ingest, spec["docs_data_docs"]),
                                  [Path(p) for p in spec["docs_files"]], landing)
    return {"startup_s": startup, "loop_s": main_run["loop_s"], "runs": main_run["runs"],
            "cpu_s": cpu_main,
            "data_docs": spec["data_docs"], "peak_rss_main_mb": peak_main, "docs": docs_run}


def _air_call(air_ingest: Any, data_docs: bool) -> Callable[[list[Path], Any], list[Any]]:
    return lambda files, reporter: air_ingest.ingest_files(files, FORMAT, data_docs=data_docs,
                                                           reporter=reporter)


def time_landing(module: Any) -> list[float]:
    """Wrap `module.land_file` so each call's seconds land in the returned list.

    Ingest functions call land_file by its module-global name: wrapping it
    times landing without copying their bodies into the bench.
    """
    landing: list[float] = []
    real_land = module.land_file

    def timed_land(*args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter()
        try:
            return real_land(*args, **kwargs)
        finally:
            landing.append(time.perf_counter() - begin)

    module.land_file = timed_land
    return landing


def ingest_command(ingest: Callable[[list[Path], Any], list[Any]], files: list[Path],
                   landing: list[float]) -> dict[str, Any]:
    """`ingest(files, reporter)` once with every file, as `envmon ingest` runs a backfill.

    Files are loaded in groups (core.ingest.run_deliveries), so a run's
    wall time is the sum of its ledger timings, a group step's time shared
    equally by the group's runs; landing is shared the same way.
    """
    runs: list[dict[str, Any]] = []
    loop_clock = time.perf_counter()
    landing.clear()

    class Collect:
        def say(self, text: str) -> None:
            pass

        def run(self, record: Any, position: str = "") -> None:
            runs.append({"file": ";".join(record.files), "status": record.status,
                         "rows_in": record.rows_in, "rows_loaded": record.rows_loaded,
                         "rows_quarantined": record.rows_quarantined,
                         "partitions": record.partitions,
                         "wall_s": sum(record.timings.values()), **record.timings})
            if len(runs) == 1 or len(runs) % 30 == 0 or len(runs) == len(files):
                _say(f"  [{len(runs)}/{len(files)}] {runs[-1]['file']}: {record.status}, "
                     f"elapsed {time.perf_counter() - loop_clock:.0f}s")

    ingest(files, Collect())
    for run in runs:
        run["landing"] = sum(landing) / len(runs)
        run["wall_s"] += run["landing"]
    return {"loop_s": time.perf_counter() - loop_clock, "runs": runs}


def floor_sql(files: Sequence[str], out: str) -> str:
    """The floor: every CSV read, unpivoted to cells, pivoted to station-hours, Parquet by date.

    No validation, no AQI, no marts: the least work that still turns the wide
    files into the station-hour rows envmon stores. A malformed cell becomes
    NULL (TRY_CAST); a station-hour is a row if any of its 15 cells is
    non-empty. (Copying the wide files as they are, without reshaping, is no
    cheaper a floor: 365 partitions x 303 text columns took 14.5 s and 2 GB
    here, against 9.6 s and 1.2 GB for this.)

    The dialect is spelled out because it is known: left to detect it, DuckDB's
    sniffer spends ~70 ms on each 300-column file (the year took 39.5 s, not 9.6 s).
    """
    listing = ", ".join(_sql_string(f) for f in files)
    source = (f"read_csv([{listing}], header = true, all_varchar = true, union_by_name = true, "
              "delim = ',', quote = '\"', escape = '\"')")
    target = f"TO {_sql_string(out)} (FORMAT parquet, PARTITION_BY (\"date\"), COMPRESSION zstd)"
    columns = ",\n           ".join(
        f"max(TRY_CAST(cell AS DOUBLE)) FILTER (WHERE type = {_sql_string(kind)}) AS {name}"
        for kind, name in FEED_TYPES.items())
    return f"""
COPY (
    SELECT station_code, strptime("date", '%Y%m%d')::DATE AS "date",
           CAST(hour AS INTEGER) AS hour,
           {columns}
    FROM (UNPIVOT (SELECT * FROM {source})
          ON COLUMNS(* EXCLUDE ("date", hour, type)) INTO NAME station_code VALUE cell)
    GROUP BY ALL
) {target}
"""


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    clock = time.perf_counter()
    import duckdb

    startup = time.perf_counter() - clock
    Path(spec["out"]).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {int(spec['threads'])}")
    clock, cpu = time.perf_counter(), time.process_time()
    con.execute(floor_sql(spec["files"], spec["out"]))
    copy_s, cpu_s = time.perf_counter() - clock, time.process_time() - cpu
    # Counted from the written files, not from COPY's own return value.
    glob = _sql_string(str(Path(spec["out"]) / "*" / "*.parquet"))
    reader = f"read_parquet({glob}, hive_partitioning = true, union_by_name = true)"
    rows, partitions = con.execute(
        f"SELECT count(*), count(DISTINCT \"date\") FROM {reader}").fetchone()
    # Station-hours envmon's parser can make a row of: at least one kept
    # pollutant that is a finite number >= 0 (the rest are refused cells).
    ok = " OR ".join(f"coalesce(isfinite({c}) AND {c} >= 0, false)" for c in spec["carried"])
    usable = con.execute(f"SELECT count(*) FILTER (WHERE {ok}) FROM {reader}").fetchone()[0]
    con.close()
    return {"threads": spec["threads"], "startup_s": startup, "cpu_s": cpu_s,
            "copy_s": copy_s, "rows": rows, "usable_rows": usable, "partitions": partitions,
            "parquet_bytes": _tree_bytes(Path(spec["out"]))}


def _child_warehouse(spec: dict[str, Any]) -> dict[str, Any]:
    from envmon.core.warehouse import build, connect_read_only

    clock = time.perf_counter()
    path = build()
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


def _child_dagbag(spec: dict[str, Any]) -> dict[str, Any]:
    clock = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag

    import_s = time.perf_counter() - clock
    clock = time.perf_counter()
    bag = DagBag(dag_folder=spec["dags"])
    fill_s = time.perf_counter() - clock
    return {"airflow_import_s": import_s, "fill_s": fill_s,
            "files": {Path(s.file).name: s.duration.total_seconds() for s in bag.dagbag_stats},
            "dag_ids": sorted(bag.dag_ids), "import_errors": len(bag.import_errors)}


# --- summary, checks, report ----------------------------------------------------------


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Totals per step, throughput and ratios from the children's raw figures."""
    ingest = result["ingest"]
    runs = ingest["runs"]
    steps = {key: sum(r.get(key, 0.0) for r in runs) for key in
             ("landing", "parse", "validate", "load", "derive")}
    steps["other"] = max(ingest["loop_s"] - sum(steps.values()), 0.0)
    steps["startup"] = ingest["startup_s"]
    total = ingest["startup_s"] + ingest["loop_s"]
    per_file = {key: statistics.median(r.get(key, 0.0) for r in runs) for key in
                ("landing", "parse", "validate", "load", "derive", "wall_s")}
    loaded = sum(r["rows_loaded"] for r in runs)
    quarantined = sum(r["rows_quarantined"] for r in runs)
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    floor = result["floors"][0]
    summary = {
        "total_s": total, "loop_s": ingest["loop_s"], "steps": steps,
        "per_file_median": per_file, "loaded": loaded, "quarantined": quarantined,
        "rows_in": sum(r["rows_in"] for r in runs), "statuses": statuses,
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


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM and the versions that decide the numbers."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    versions = {}
    for dist in ("pandas", "pyarrow", "numpy", "duckdb", "great-expectations",
                 "apache-airflow"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "ram_gb": ram_gb,
            "python": platform.python_version(), "platform": platform.platform(),
            "versions": versions}


def _n(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _ratio(a: float, b: float) -> str:
    return f"{_n(a / b)}x" if b > 0 else "n/a"


def _load_text(result: dict[str, Any]) -> str:
    return " / ".join("n/a" if x is None else f"{x:.2f}" for x in result["load_average"])


def render_report(result: dict[str, Any]) -> str:
    """The results as Markdown: what ran where, the tables, the checks."""
    s, m, ing = result["summary"], result["machine"], result["ingest"]
    floors, wh, sizes = result["floors"], result["warehouse"], result["sizes"]
    ram = f"{m['ram_gb']:.0f} GB RAM" if m["ram_gb"] else "RAM unknown"
    v = m["versions"]
    possible = result["stations"] * result["days"] * 24
    lines = [
        f"Measured {result['started_at']} on {m['cpu']}, {m['cores']} cores, {ram}; "
        f"Python {m['python']}, pandas {v['pandas']}, pyarrow {v['pyarrow']}, "
        f"duckdb {v['duckdb']}, Great Expectations {v['great-expectations']}, "
        f"Airflow {v['apache-airflow']}.",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Load average (1 min) at start / end: {_load_text(result)}. Other work on the "
        "machine inflates wall times; CPU seconds are steadier.",
        "",
        f"Input: {result['files']} files x {result['stations']} stations "
        f"({_n(sizes['csv_bytes'] / 1e6)} MB of CSV; {possible:,} station-hours possible, "
        f"{s['floor_rows']:,} with at least one non-empty cell). Generating them took "
        f"{_n(result['generate_s'])} s (not part of any figure below).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| envmon ingest, end to end | {_n(s['total_s'])} s (CPU {_n(ing['cpu_s'])} s) |",
        f"| envmon ingest, files only (no startup) | {_n(s['loop_s'])} s |",
        f"| envmon Data Docs in the main run | {'on' if ing['data_docs'] else 'off'} |",
        f"| station-hours loaded | {s['loaded']:,} |",
        "| quarantined: cells refused by the parser / rows refused by the checks | "
        + (f"{wh['quarantine_parse']:,} / {wh['quarantine_checks']:,} |" if "error" not in wh
           else f"{s['quarantined']:,} in all (no warehouse to split them) |"),
        f"| runs by status | {', '.join(f'{k} {n}' for k, n in sorted(s['statuses'].items()))} |",
        f"| throughput, end to end | {_n(s['station_hours_per_s'], 0)} station-hours/s |",
        f"| per file (median wall) | {_n(s['per_file_median']['wall_s'], 3)} s |",
        f"| envmon peak RSS | {_n(ing['peak_rss_main_mb'], 0)} MB |",
    ]
    for floor in floors:
        lines.append(f"| floor, DuckDB CSV -> Parquet, {floor['threads']} thread(s) | "
                     f"{_n(floor['copy_s'], 2)} s (CPU {_n(floor['cpu_s'])} s), "
                     f"{floor['rows']:,} rows, peak RSS "
                     f"{_n(floor['peak_rss_mb'], 0)} MB |")
    for floor in floors:
        lines.append(f"| ratio envmon / floor ({floor['threads']} thread(s)), end to end | "
                     f"{_ratio(s['total_s'], floor['copy_s'])} |")
    lines += [
        f"| ratio envmon files only / floor ({floors[0]['threads']} thread(s)) | "
        f"{_ratio(s['loop_s'], floors[0]['copy_s'])} |",
        f"| ratio envmon / floor in CPU seconds ({floors[0]['threads']} thread(s)) | "
        f"{_ratio(ing['cpu_s'], floors[0]['cpu_s'])} |",
        f"| on disk: landing / lake (all) / floor Parquet | {_n(sizes['landing_bytes'] / 1e6)} "
        f"/ {_n(sizes['lake_bytes'] / 1e6)} / {_n(sizes['floor_bytes'] / 1e6)} MB |",
        "",
        "Where envmon's time goes (sum over all files; the median is per file):",
        "",
        "| step | seconds | share | median per file |",
        "|---|---|---|---|",
    ]
    total = s["total_s"]
    for key, label in STEPS:
        seconds = s["steps"][key]
        median = s["per_file_median"].get(key)
        per_file = f"{_n(median * 1000, 0)} ms" if median is not None else "-"
        lines.append(f"| {label} | {_n(seconds)} | {_n(100 * seconds / total)} % | {per_file} |")
    lines.append(f"| total | {_n(total)} | 100 % | |")
    docs = s.get("docs")
    if docs:
        lines += [
            "",
            f"Data Docs (GX UpdateDataDocsAction), first {docs['files']} file(s) in a separate "
            f"home: {_n(docs['with_mean_s'], 2)} s per file with, "
            f"{_n(docs['without_mean_s'], 2)} s without: **{docs['cost_per_file_s']:+.2f} s "
            f"per file** (validate step {_n(docs['with_validate_first_s'], 2)} s on the first "
            f"file, {_n(docs['with_validate_last_s'], 2)} s on the last).",
        ]
    lines += ["", "Warehouse and analyst queries (read-only connection, first run):", ""]
    if "error" in wh:
        lines.append(f"**warehouse build failed**: {wh['error']}")
    else:
        lines += ["| step | seconds | result rows |", "|---|---|---|",
                  f"| warehouse build (views) | {_n(wh['build_s'], 3)} | |"]
        lines += [f"| {q['label']} | {_n(q['seconds'], 3)} | {q['rows']:,} |"
                  for q in wh["queries"]]
    lines += ["", "Targets:", "", "| target | measured | met |", "|---|---|---|"]
    dag = result.get("dagbag")
    if dag and "error" in dag:
        lines.append(f"| DAG file parse < 1 s (DagBag) | failed: {dag['error']} | NO |")
    elif dag:
        slowest = max(dag["files"].values(), default=0.0)
        files = ", ".join(f"{name} {_n(sec, 3)} s" for name, sec in sorted(dag["files"].items()))
        ok = slowest < 1 and dag["import_errors"] == 0
        lines.append(f"| DAG file parse < 1 s (DagBag) | {files}; {dag['import_errors']} import "
                     f"errors; airflow import {_n(dag['airflow_import_s'], 1)} s | "
                     f"{'yes' if ok else 'NO'} |")
    # The target is envmon's: the floor's memory is DuckDB's and shown for comparison.
    peak = max(ing["peak_rss_main_mb"], wh.get("peak_rss_mb", 0.0))
    lines.append(f"| peak memory < 2 GB | envmon ingest {_n(ing['peak_rss_main_mb'], 0)} MB, "
                 f"warehouse + queries "
                 f"{_n(wh['peak_rss_mb'], 0) + ' MB' if 'peak_rss_mb' in wh else 'n/a'} (floor: "
                 f"{', '.join(_n(f['peak_rss_mb'], 0) for f in floors)} MB) | "
                 f"{'yes' if peak < 2048 else 'NO'} |")
    lines += ["", "Consistency checks:", ""]
    lines += [f"- {'ok' if c['ok'] else 'FAILED'}: {c['name']} ({c['detail']})"
              for c in result["checks"]]
    return "\n".join(lines) + "\n"


_SKELETON = f"""# Benchmarks

Written by `make bench` (envmon/bench.py) between the markers below.

## Results

{RESULTS_START}
{RESULTS_END}
"""


def write_report(path: Path, report: str) -> None:
    """Replace what lies between the results markers of `path`; create it if missing."""
    text = path.read_text(encoding="utf-8") if path.exists() else _SKELETON
    if RESULTS_START not in text or RESULTS_END not in text:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + RESULTS_START + "\n" + RESULTS_END + "\n"
    pattern = re.compile(re.escape(RESULTS_START) + r".*?" + re.escape(RESULTS_END), re.S)
    block = f"{RESULTS_START}\n{report.rstrip()}\n{RESULTS_END}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pattern.sub(lambda _m: block, text, count=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
