"""What both benchmarks share: the work directory, child processes, machine facts, the report.

- the throw-away work directory (`Layout`) and the marker that proves the
  bench made it (`fresh_workdir`), so a mistyped --workdir can never delete
  someone's data;
- one phase per child process (`spawn` in the parent, `child_main` in the
  child), so each phase's peak RSS (`peak_rss_mb`) and imports are its own;
- timing an ingest as `envmon ingest` runs it (`time_landing`,
  `ingest_command`, `step_totals`), and a DagBag (`child_dagbag`);
- what the numbers depend on (`machine_info`, `load_average`);
- the report: rendered from benchmarks/templates/ (`render`) and written
  between a pair of markers of docs/benchmarks.md (`write_between_markers`).

Only the standard library is imported at module level: the floor children
must not pay for (or count the memory of) pandas and Great Expectations.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = PROJECT_ROOT / "docs" / "benchmarks.md"
TEMPLATES = Path(__file__).resolve().parent / "templates"
# A work directory is wiped before each run; the marker proves the bench made
# it, so a mistyped --workdir can never delete someone's data.
MARKER = ".envmon-bench"
# The steps of an ingest's RunRecord.timings, plus landing (timed by the bench).
RUN_STEPS = ("landing", "parse", "validate", "load", "derive")

Runner = Callable[[dict[str, Any]], dict[str, Any]]


def say(text: str) -> None:
    """Progress, on stderr (stdout carries the report)."""
    print(text, file=sys.stderr, flush=True)


def command_line(module: str, argv: Sequence[str]) -> str:
    """The command as typed, for the report: the interpreter relative to the project."""
    exe = os.path.relpath(sys.executable, PROJECT_ROOT) if sys.executable.startswith(
        str(PROJECT_ROOT)) else sys.executable
    return shlex.join([exe, "-m", module, *argv])


# --- the work directory ---------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where a run keeps its files, below one throw-away root."""

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


def fresh_workdir(root: Path) -> None:
    """Wipe and remake `root`, refusing a non-empty directory without the bench's marker."""
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise SystemExit(f"bench: {root} exists, is not empty and was not made by the bench; "
                         "choose another --workdir")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by the envmon benchmarks; wiped on every run\n")


@contextmanager
def work_in(root: Path, *, keep: bool) -> Iterator[Layout]:
    """A fresh work directory at `root` (fresh_workdir) for one run, removed
    afterwards, whatever happened, unless `keep`."""
    root.parent.mkdir(parents=True, exist_ok=True)
    fresh_workdir(root)
    try:
        yield Layout(root)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def stored_bytes(home: Path) -> int:
    """What the lake holds on disk, on either storage: the Parquet layout's
    `lake/`, or the embedded lakehouse's catalog and data under `lakehouse/`."""
    return tree_bytes(home / "lake") + tree_bytes(home / "lakehouse")


def add_storage_argument(parser: Any) -> None:
    """--storage: ENVMON_STORAGE of the children, envmon's own default unless given."""
    from envmon.core.lakehouse import DEFAULT_STORAGE, STORAGES

    parser.add_argument("--storage", choices=STORAGES, default=DEFAULT_STORAGE,
                        help=f"ENVMON_STORAGE of the ingest and warehouse children (default "
                             f"{DEFAULT_STORAGE}, embedded; docs/lakehouse.md)")


def copy_reference_tables(directory: Path) -> None:
    """cities.csv and provinces.csv into `directory`, an ENVMON_REFERENCE_DIR being written.

    They must be the versions the registry was validated against, whatever
    ENVMON_REFERENCE_DIR the caller has.
    """
    from envmon.core import reference

    for name in (reference.CITIES_FILE, reference.PROVINCES_FILE):
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reference.reference_path(name), directory / name)


def sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# --- child processes ------------------------------------------------------------------


def spawn(module: str, phase: str, layout: Layout, env: dict[str, str], spec: dict[str, Any],
          *, required: bool = True) -> dict[str, Any]:
    """Run one phase as `python -m module --child phase spec.json` from the project root.

    A fresh interpreter, so its peak RSS and imports are its own. A phase that
    is not `required` (warehouse, DagBag, profile) returns {"error": ...} when
    it fails: minutes of ingest figures are not thrown away because a SQL or
    DAG file elsewhere in the tree is broken; the report and the checks say so.
    """
    layout.results.mkdir(parents=True, exist_ok=True)
    spec_path = layout.results / f"{phase}.spec.json"
    result_path = layout.results / f"{phase}.json"
    spec_path.write_text(json.dumps({**spec, "result": str(result_path)}, default=str))
    clock = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", module, "--child", phase, str(spec_path)],
                          cwd=PROJECT_ROOT, env={**os.environ, **env}, check=False)
    wall = time.perf_counter() - clock
    if done.returncode != 0:
        error = (json.loads(result_path.read_text()).get("error") if result_path.exists()
                 else None) or f"exit code {done.returncode}"
        if required:
            raise SystemExit(f"bench: child {phase!r} failed: {error}")
        say(f"  FAILED: {error}")
        return {"error": error, "process_wall_s": wall}
    result = json.loads(result_path.read_text())
    result["process_wall_s"] = wall
    # Kept beside the child's own VmHWM as a cross-check: RUSAGE_CHILDREN is the
    # largest of all children so far, so it only says something while it grows.
    result["rusage_children_max_mb"] = resource.getrusage(
        resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def child_main(runners: Mapping[str, Runner], phase: str, spec_path: Path) -> int:
    """The child side of `spawn`: run `phase` (or its name without a numeric suffix)."""
    spec = json.loads(spec_path.read_text())
    runner = runners.get(phase) or runners.get(phase.rstrip("0123456789"))
    if runner is None:
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


# --- timing an ingest -----------------------------------------------------------------


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
                say(f"  [{len(runs)}/{len(files)}] {runs[-1]['file']}: {record.status}, "
                    f"elapsed {time.perf_counter() - loop_clock:.0f}s")

    ingest(files, Collect())
    for run in runs:
        run["landing"] = sum(landing) / len(runs)
        run["wall_s"] += run["landing"]
    return {"loop_s": time.perf_counter() - loop_clock, "runs": runs}


def step_totals(runs: list[dict[str, Any]], *, startup_s: float, loop_s: float,
                refresh_s: float = 0.0) -> dict[str, float]:
    """Seconds per step summed over the runs; "other" is the loop's time no step accounts for."""
    steps = {key: sum(r.get(key, 0.0) for r in runs) for key in RUN_STEPS}
    steps["other"] = max(loop_s - sum(steps.values()), 0.0)
    steps["startup"] = startup_s
    if refresh_s:
        steps["refresh"] = refresh_s
    return steps


def count_statuses(runs: list[dict[str, Any]]) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return statuses


def child_dagbag(spec: dict[str, Any]) -> dict[str, Any]:
    """Child phase: the DAG files of spec["dags"] through a real DagBag."""
    clock = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag

    import_s = time.perf_counter() - clock
    clock = time.perf_counter()
    bag = DagBag(dag_folder=spec["dags"])
    fill_s = time.perf_counter() - clock
    return {"airflow_import_s": import_s, "fill_s": fill_s,
            "files": {Path(s.file).name: s.duration.total_seconds() for s in bag.dagbag_stats},
            "dag_ids": sorted(bag.dag_ids), "import_errors": len(bag.import_errors)}


def airflow_env(env: dict[str, str], layout: Layout) -> dict[str, str]:
    """`env` plus an Airflow home of the run's own, over the project's dags/."""
    return {**env, "AIRFLOW_HOME": str(layout.root / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags")}


# --- what the numbers depend on -------------------------------------------------------


def load_average() -> float | None:
    """1-minute load average: other work on the machine inflates every wall time."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


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


# --- the report -----------------------------------------------------------------------


def number(value: float | None, digits: int = 1) -> str:
    """`1,234.5`; None is `n/a`."""
    return "n/a" if value is None else f"{value:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    """`a / b` as `3.2x`; `n/a` when b is not positive."""
    return f"{number(a / b)}x" if b > 0 else "n/a"


def render(template: str, **context: Any) -> str:
    """benchmarks/templates/`template` rendered with `context` (Markdown: no escaping).

    Filters: `n` (number(value, digits)), `ratio` (ratio(a, b)), `commas`
    (an integer with thousands separators), `signed` (`+0.12`).
    """
    import jinja2  # lazily: the children never render

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(n=number, ratio=ratio, commas=lambda v: f"{v:,}",
                       signed=lambda v: f"{v:+.2f}")
    return env.get_template(template).render(**context)


def write_between_markers(path: Path, report: str, start: str, end: str, *, new_file: str,
                          heading: str) -> None:
    """Replace what lies between `start` and `end` in `path` with `report`; the rest is kept.

    A missing file starts as `new_file`; a file without the markers gets them
    at its end, under `heading`.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else new_file
    block = f"{start}\n{report.rstrip()}\n{end}"
    if start in text and end in text:
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def save_json_and_check(result: dict[str, Any], json_path: Path | None) -> int:
    """Write the raw figures to `json_path` (if given), print the failed checks;
    the bench's exit code: 1 when a consistency check failed."""
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=1, default=str))
    failed = [c for c in result["checks"] if not c["ok"]]
    for check in failed:
        print(f"bench check failed: {check['name']}: {check['detail']}", file=sys.stderr)
    return 1 if failed else 0
