"""The child processes of benchmarks.national, one phase each (harness.spawn / child_main).

ingest (water, hazwaste), workers (`envmon ingest --workers N`), floor (the
raw JSON straight into Parquet), warehouse (the commitment-report queries)
and profile (cProfile of one file). Air's ingest and floor are
benchmarks.air's, as in `make bench`.

Only the standard library is imported at module level: the floor children
must not pay for pandas.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import air, harness
from benchmarks.harness import say, sql_string

# The formats `envmon ingest DOMAIN --workers N` is timed with.
WORKER_FORMATS = {"air": air.FORMAT, "water": "cnemc-water"}


def summarise_runs(runs: list[dict[str, Any]], *, startup_s: float, loop_s: float,
                   cpu_s: float, peak_rss_mb: float, refresh_s: float = 0.0,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Step totals (RunRecord.timings + landing), shares and throughput of one ingest."""
    steps = harness.step_totals(runs, startup_s=startup_s, loop_s=loop_s, refresh_s=refresh_s)
    total = startup_s + loop_s + refresh_s
    loaded = sum(r["rows_loaded"] for r in runs)
    return {"total_s": total, "loop_s": loop_s, "startup_s": startup_s, "cpu_s": cpu_s,
            "steps": steps, "rows_in": sum(r["rows_in"] for r in runs), "rows_loaded": loaded,
            "rows_quarantined": sum(r["rows_quarantined"] for r in runs),
            "statuses": harness.count_statuses(runs), "runs": len(runs),
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

        return module, air.ingest_call(module, False)
    raise SystemExit(f"bench: unknown domain {domain!r}")


def child_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    clock = time.perf_counter()
    import great_expectations  # noqa: F401  (the one-off import is "startup", not "validate")

    import envmon.core.checks  # noqa: F401

    module, call = _ingest_call(spec["domain"])
    startup = time.perf_counter() - clock
    landing = harness.time_landing(module)
    ingested = harness.ingest_command(call, [Path(p) for p in spec["files"]], landing)
    refresh_s, extra = 0.0, {}
    if spec["domain"] == "hazwaste":
        before = harness.peak_rss_mb()  # VmHWM is a high-water mark: the refresh's own share
        clock = time.perf_counter()
        summary = module.refresh_derived(as_of=datetime.fromisoformat(spec["as_of"]))
        refresh_s = time.perf_counter() - clock
        extra = {"manifests": summary["manifests"], "anomalies": summary["anomalies"],
                 "peak_rss_before_refresh_mb": before}
        say(f"  refresh: {summary['manifests']:,} manifests, "
            f"{summary['anomalies']:,} anomalies, {refresh_s:.1f}s")
    return summarise_runs(ingested["runs"], startup_s=startup, loop_s=ingested["loop_s"],
                          cpu_s=time.process_time(), peak_rss_mb=harness.peak_rss_mb(),
                          refresh_s=refresh_s, extra=extra)


def child_workers(spec: dict[str, Any]) -> dict[str, Any]:
    """`envmon ingest DOMAIN --workers N` as a bureau would run a backfill on N cores.

    Wall time from here; CPU and the largest process's peak from
    RUSAGE_CHILDREN (the command and its workers, all waited for); rows from
    the ledger the command wrote. Includes the command's warehouse rebuild.
    """
    command = [sys.executable, "-m", "envmon.cli", "ingest", spec["domain"], "--format",
               WORKER_FORMATS[spec["domain"]], "--no-data-docs", "--workers",
               str(spec["workers"]), *spec["files"]]
    clock = time.perf_counter()
    done = subprocess.run(command, cwd=harness.PROJECT_ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - clock
    if done.returncode != 0:
        raise RuntimeError(f"envmon ingest --workers exited {done.returncode}: "
                           f"{done.stderr.strip()[-300:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The ledger through the warehouse the command rebuilt: either storage.
    from envmon.core.warehouse import connect_read_only

    con = connect_read_only()
    try:
        runs, loaded = con.execute(
            "SELECT count(*), sum(rows_loaded) FROM ingest_runs").fetchall()[0]
    finally:
        con.close()
    return {"workers": spec["workers"], "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "runs": runs, "rows_loaded": int(loaded or 0),
            "peak_rss_max_mb": usage.ru_maxrss / 1024}


def child_profile(spec: dict[str, Any]) -> dict[str, Any]:
    """cProfile of one file's ingest (after a warm-up import), top functions by own time."""
    import cProfile
    import pstats

    import great_expectations  # noqa: F401

    import envmon.core.checks  # noqa: F401

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
    for marker in ("site-packages/", str(harness.PROJECT_ROOT) + "/"):
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
    listing = ", ".join(sql_string(f) for f in files)
    target = (f"TO {sql_string(out)} (FORMAT parquet, PARTITION_BY (\"date\"), "
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


def child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    Path(spec["out"]).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    clock, cpu = time.perf_counter(), time.process_time()
    con.execute(floor_sql(spec["domain"], spec["files"], spec["out"]))
    seconds, cpu_s = time.perf_counter() - clock, time.process_time() - cpu
    glob = sql_string(str(Path(spec["out"]) / "*" / "*.parquet"))
    rows = con.execute(f"SELECT count(*) FROM read_parquet({glob}, hive_partitioning = true, "
                       "union_by_name = true)").fetchall()[0][0]
    con.close()
    return {"seconds": seconds, "cpu_s": cpu_s, "rows": rows,
            "threads": os.cpu_count() or 1,
            "parquet_bytes": harness.tree_bytes(Path(spec["out"]))}


def child_warehouse(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the views, then each report query twice (first run and warm)."""
    from envmon.core.warehouse import connect_read_only
    from envmon.domains import build_warehouse

    clock = time.perf_counter()
    path = build_warehouse()
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


# Child phases by name, for `python -m benchmarks.national --child PHASE SPEC`.
CHILDREN: dict[str, harness.Runner] = {
    "ingest": child_ingest, "workers": child_workers, "floor": child_floor,
    "warehouse": child_warehouse, "profile": child_profile,
    # air, as benchmarks.local runs it
    "air-ingest": air.child_ingest, "air-floor": air.child_floor,
    "dagbag": harness.child_dagbag,
}
