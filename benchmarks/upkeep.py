"""What the lakehouse's upkeep (`envmon lakehouse compact`) costs and gives back.

A bureau pulls the national air file every hour, and the day's file grows
through the day: each pull carries the hours so far, so every pull replaces
the rows the previous one loaded and commits new data and delete files.
This bench loads `--days` of such pulls (`--pulls-per-day` each, one load
per pull, as the hourly DAG runs them) into an embedded lakehouse, then:

1. builds the warehouse and times the analyst queries of `make bench`,
   and counts the live data files;
2. runs the upkeep (merge, expire, delete) as `envmon lakehouse compact`
   does, with no history kept, and times it;
3. times the same queries again and checks they give the same rows;
4. loads one more day of pulls and compares its loads with the last day's
   before the upkeep.

`python -m benchmarks.upkeep [options]` or `make bench-upkeep`; the results
go between the `bench:upkeep` markers of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import air, harness, local
from benchmarks.harness import Layout, say

MODULE = "benchmarks.upkeep"
RESULTS_START = "<!-- bench:upkeep:start -->"
RESULTS_END = "<!-- bench:upkeep:end -->"
HEADING = "## Lakehouse upkeep (issue 14)"
HOURS = 24


@dataclass(frozen=True)
class UpkeepOptions:
    stations: int = 300
    days: int = 7  # a week: the upkeep DAG's schedule
    pulls_per_day: int = 24
    start: date = date(2025, 1, 1)
    workdir: Path = Path("var") / "bench_upkeep"
    keep: bool = False
    seed: int = 2026
    output: Path | None = harness.DEFAULT_OUTPUT
    json_path: Path | None = None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m benchmarks.upkeep [options]`; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return harness.child_main(CHILDREN, argv[1], Path(argv[2]))
    options = parse_args(argv)
    result = run_bench(options, command=harness.command_line(MODULE, argv))
    report = harness.render("upkeep.md.j2", r=result, m=result["machine"])
    print(report)
    if options.output is not None:
        harness.write_between_markers(options.output, report, RESULTS_START, RESULTS_END,
                                      new_file="# Benchmarks\n", heading=HEADING)
        print(f"\nreport written to {options.output}", file=sys.stderr)
    return harness.save_json_and_check(result, options.json_path)


def parse_args(argv: Sequence[str]) -> UpkeepOptions:
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}",
                                description="Measure the lakehouse upkeep after hourly loads.")
    p.add_argument("--stations", type=int, default=UpkeepOptions.stations)
    p.add_argument("--days", type=int, default=UpkeepOptions.days,
                   help="days of pulls before the upkeep (one more day is loaded after it)")
    p.add_argument("--pulls-per-day", type=int, default=UpkeepOptions.pulls_per_day,
                   help="pulls of each day's growing file (24: hourly)")
    p.add_argument("--start", type=date.fromisoformat, default=UpkeepOptions.start)
    p.add_argument("--workdir", type=Path, default=UpkeepOptions.workdir)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--output", default=str(harness.DEFAULT_OUTPUT),
                   help="Markdown file for the results block ('-': print only)")
    p.add_argument("--json", dest="json_path", type=Path, default=None)
    args = p.parse_args(argv)
    if args.stations < 1 or args.days < 1 or not 1 <= args.pulls_per_day <= HOURS:
        p.error(f"--stations and --days must be >= 1, --pulls-per-day 1..{HOURS}")
    return UpkeepOptions(stations=args.stations, days=args.days,
                         pulls_per_day=args.pulls_per_day, start=args.start,
                         workdir=args.workdir.absolute(), keep=args.keep,
                         output=None if args.output == "-" else Path(args.output).absolute(),
                         json_path=args.json_path)


def run_bench(options: UpkeepOptions, *, command: str = "") -> dict[str, Any]:
    with harness.work_in(options.workdir, keep=options.keep) as layout:
        return _measure(options, layout, command)


def _measure(options: UpkeepOptions, layout: Layout, command: str) -> dict[str, Any]:
    started = datetime.now(UTC)
    load_before = harness.load_average()
    stations = air.write_registry(layout.reference, options.stations)
    days = air.generate_files(layout.feed, stations, options.start, options.days + 1,
                              options.seed)
    pulls = [split_into_pulls(day, layout.feed / "pulls", options.pulls_per_day)
             for day in days]
    before_pulls = [p for day in pulls[:-1] for p in day]
    say(f"bench upkeep: {options.stations} stations, {options.days} days x "
        f"{options.pulls_per_day} pulls = {len(before_pulls)} loads, in {layout.root}")
    env = {"ENVMON_HOME": str(layout.home), "ENVMON_REFERENCE_DIR": str(layout.reference),
           "ENVMON_STORAGE": "lakehouse"}

    def spawn(phase: str, spec: dict[str, Any]) -> dict[str, Any]:
        return harness.spawn(MODULE, phase, layout, env, spec)

    say("- loads, one per pull (child process)")
    loads = spawn("load", {"files": [str(p) for p in before_pulls]})
    say(f"  {loads['loop_s']:.1f}s")
    queries = {"queries": list(local.QUERIES)}
    say("- warehouse and queries before the upkeep")
    before = spawn("warehouse1", queries)
    lake_before = harness.tree_bytes(layout.home / "lakehouse")
    say("- the upkeep")
    upkeep = spawn("compact", {})
    say(f"  {upkeep['seconds']:.1f}s: {upkeep['summary']}")
    lake_after = harness.tree_bytes(layout.home / "lakehouse")
    say("- warehouse and queries after the upkeep")
    after = spawn("warehouse2", queries)
    say("- one more day of pulls")
    next_day = spawn("load2", {"files": [str(p) for p in pulls[-1]]})

    result = {"options": {**asdict(options), "workdir": str(options.workdir)},
              "command": command, "started_at": started.isoformat(timespec="seconds"),
              "load_average": [load_before, harness.load_average()],
              "machine": harness.machine_info(), "loads": loads, "before": before,
              "upkeep": upkeep, "after": after, "next_day": next_day,
              "lake_bytes": [lake_before, lake_after]}
    result["summary"] = summarise(result)
    result["checks"] = invariants(result)
    return result


def split_into_pulls(day_file: Path, out_dir: Path, pulls: int) -> list[Path]:
    """The day's file as the publisher's hourly pulls see it: pull k of `pulls`
    holds the hours up to its time, under the day's own file name."""
    header, *rows = day_file.read_text(encoding="utf-8").splitlines(keepends=True)
    column = header.rstrip("\r\n").split(",").index("hour")
    paths = []
    for k in range(1, pulls + 1):
        last_hour = -(-HOURS * k // pulls) - 1  # ceil(24 k / pulls) - 1
        kept = [r for r in rows if int(r.split(",")[column]) <= last_hour]
        path = out_dir / day_file.stem / f"{k:02d}" / day_file.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "".join(kept), encoding="utf-8")
        paths.append(path)
    return paths


# --- child processes ------------------------------------------------------------------


def _child_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Each file as its own `envmon ingest air` call: a load and a commit per pull."""
    import envmon.air.ingest as air_ingest

    walls, statuses, loaded = [], [], []
    loop = time.perf_counter()
    for path in spec["files"]:
        clock = time.perf_counter()
        records = air_ingest.ingest_files([Path(path)], air.FORMAT, data_docs=False)
        walls.append(time.perf_counter() - clock)
        statuses += [r.status for r in records]
        loaded.append(sum(r.rows_loaded for r in records))
    return {"loop_s": time.perf_counter() - loop, "walls": walls, "statuses": statuses,
            "rows_loaded": loaded, "cpu_s": time.process_time()}


def _child_warehouse(spec: dict[str, Any]) -> dict[str, Any]:
    """The queries of `make bench`, a digest of every row they give, and the live files."""
    from envmon.core import lakehouse, upkeep
    from envmon.core.warehouse import connect_read_only

    result = local.child_warehouse(spec)
    con = connect_read_only()
    try:
        result["digests"] = [_digest(con.execute(sql).fetchall()) for _, sql in spec["queries"]]
    finally:
        con.close()
    result["live_files"] = upkeep.live_files(lakehouse.session())
    return result


def _digest(rows: list[tuple]) -> str:
    """The rows as a multiset: rows tied under a query's ORDER BY (two stations
    with one p95) may come in either order, before or after a merge."""
    return hashlib.sha256("\n".join(sorted(map(repr, rows))).encode()).hexdigest()


def _child_compact(spec: dict[str, Any]) -> dict[str, Any]:
    """`envmon lakehouse compact` with no history kept: every freed file deleted now."""
    from envmon.core import upkeep

    clock = time.perf_counter()
    done = upkeep.compact(upkeep.Retention(keep_days=0, grace_hours=0),
                          now=datetime.now(UTC) + timedelta(seconds=1))
    return {"seconds": time.perf_counter() - clock, "cpu_s": time.process_time(),
            "summary": done.summary(), **asdict(done)}


CHILDREN: dict[str, harness.Runner] = {"load": _child_load, "warehouse": _child_warehouse,
                                       "compact": _child_compact}


# --- summary and checks ---------------------------------------------------------------


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    pulls = result["options"]["pulls_per_day"]
    walls = result["loads"]["walls"]
    first_day, last_day = walls[:pulls], walls[-pulls:]
    queries = [{"label": b["label"], "before_s": b["seconds"], "after_s": a["seconds"]}
               for b, a in zip(result["before"]["queries"], result["after"]["queries"],
                               strict=True)]
    return {"loads": len(walls),
            "first_day_median_s": statistics.median(first_day),
            "last_day_median_s": statistics.median(last_day),
            "next_day_median_s": statistics.median(result["next_day"]["walls"]),
            "queries": queries,
            "queries_before_s": sum(q["before_s"] for q in queries),
            "queries_after_s": sum(q["after_s"] for q in queries)}


def invariants(result: dict[str, Any]) -> list[dict[str, Any]]:
    before, after, done = result["before"], result["after"], result["upkeep"]
    pulls = result["options"]["pulls_per_day"]
    # Each day's last pull carries the whole day: what the pulls before it
    # loaded must have been replaced, not added to.
    whole_days = sum(result["loads"]["rows_loaded"][pulls - 1::pulls])
    statuses = result["loads"]["statuses"] + result["next_day"]["statuses"]
    return [
        # A pull before the day's last hour lacks hours: loaded, and "incomplete".
        {"name": "every pull loaded",
         "ok": set(statuses) <= {"ok", "incomplete"},
         "detail": f"statuses {sorted(set(statuses))}"},
        {"name": "the pulls replaced each other's rows",
         "ok": before["air_hourly_rows"] == whole_days,
         "detail": f"{before['air_hourly_rows']:,} station-hours, the days' last pulls "
                   f"loaded {whole_days:,}"},
        {"name": "the upkeep changes no answer",
         "ok": before["digests"] == after["digests"]
         and before["air_hourly_rows"] == after["air_hourly_rows"],
         "detail": f"{before['air_hourly_rows']:,} vs {after['air_hourly_rows']:,} rows"},
        {"name": "the upkeep merged files",
         "ok": done["files_after"] < done["files_before"] == before["live_files"],
         "detail": f"{done['files_before']:,} -> {done['files_after']:,} "
                   f"(warehouse counted {before['live_files']:,})"},
        {"name": "the upkeep deleted what it freed", "ok": done["files_deleted"] > 0,
         "detail": f"{done['files_deleted']:,} deleted"},
    ]


if __name__ == "__main__":
    raise SystemExit(main())
