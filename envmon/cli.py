"""The `envmon` command line: the same pipeline functions Airflow calls."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envmon.core.errors import EnvmonError
from envmon.core.requests import IngestRequest, PullRequest

if TYPE_CHECKING:
    from envmon.domains import Domain

EPILOG = """\
examples:
  envmon demo          generate demo feeds, load a month, build the warehouse
  envmon ingest air --format china-sites data/china_sites_20261001.csv
  envmon pull air --source china-sites --start 2026-10-01 --end 2026-10-07
  envmon query "SELECT city_code, avg(pm25) FROM air_daily_city GROUP BY 1 ORDER BY 2 DESC"

Everything envmon writes goes under $ENVMON_HOME (default ./var): landing/
(received bytes), lake/ (Parquet), quarantine/, ledger/, data_docs/ (Great
Expectations) and warehouse.duckdb (open it read-only with DuckDB).
Sources are configured in config/sources.yaml (or $ENVMON_CONFIG_DIR).
"""

# Exit codes: 0 done (warnings printed), 1 bad input or configuration,
# 3 a pull delivered less than it should (incomplete batch): a scheduler
# should retry.
EXIT_BAD_INPUT = 1
EXIT_INCOMPLETE = 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    return _handled(lambda: args.handler(args))


def _handled(work: Callable[[], int]) -> int:
    """Run a command; known failures become one line on stderr and an exit code."""
    try:
        return work()
    except EnvmonError as exc:
        print(f"envmon: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError as exc:
        return EXIT_STDOUT_CLOSED if _stdout_gone() else _cannot_write(exc)
    except OSError as exc:
        return _cannot_write(exc)
    except KeyboardInterrupt:
        print("envmon: interrupted; loaded partitions are intact, re-run to finish",
              file=sys.stderr)
        return 130


# What a process killed by SIGPIPE exits with: the reader of envmon's output
# went away (`envmon query ... | head`), which is not an error of envmon's,
# but the command did not finish either.
EXIT_STDOUT_CLOSED = 128 + 13


def _stdout_gone() -> bool:
    """True when stdout's reader has gone (its end reports an error or a hang-up);
    stdout then points at /dev/null, so that Python's flush at exit is quiet."""
    import select

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False  # not a file (captured): the pipe was something else
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    if not any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0)):
        return False
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    return True


def _cannot_write(exc: OSError) -> int:
    # A full or failing disk: every write is temp-file-and-rename (or a
    # lakehouse commit), so what was loaded before is intact.
    where = f" {exc.filename}" if exc.filename else ""
    print(f"envmon: error: cannot write{where}: {exc.strerror or exc}; earlier loads "
          "are intact, re-run when the disk is fixed", file=sys.stderr)
    return EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    from envmon.domains import domains

    parser = argparse.ArgumentParser(
        prog="envmon", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Yangtze River Delta environmental monitoring: ingest, check, store and "
                    "query monitoring data.")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    ingest = sub.add_parser("ingest", help="parse, check and load local files",
                            description="Parse, check and load local files. Each file is one "
                                        "run in the ledger; bad rows go to quarantine.")
    pull = sub.add_parser("pull", help="fetch from a configured source, then ingest",
                          description="Fetch from a source configured in config/sources.yaml "
                                      "into landing, then ingest.")
    ingest_domains = ingest.add_subparsers(title="domains", metavar="DOMAIN", required=True)
    pull_domains = pull.add_subparsers(title="domains", metavar="DOMAIN", required=True)
    for name, domain in domains().items():
        one = ingest_domains.add_parser(name, help=domain.HELP)
        one.add_argument("--format", required=True, dest="fmt", choices=tuple(domain.FORMATS),
                         help="; ".join(f"{name}: {fmt.what}"
                                        for name, fmt in domain.FORMATS.items()))
        _option_flags(one, domain.IngestOptions)
        one.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        one.add_argument("--source", type=_source_name,
                         help="source name recorded with the rows (default: the format); a "
                              "configured source's checks apply")
        one.add_argument("--follow-symlinks", action="store_true",
                         help="load the file a symbolic link points to (links are refused "
                              "otherwise)")
        _load_flags(one)
        if domain.PARALLEL_INGEST:
            one.add_argument("--workers", type=int, default=1, metavar="N",
                             help="load the files in N processes at once, each a contiguous "
                                  "slice of them (default 1); at most the number of cores, "
                                  "and each process holds up to ~1 GB")
        one.set_defaults(handler=_cmd_ingest, domain=domain, workers=1)

        one = pull_domains.add_parser(name, help=domain.HELP)
        one.add_argument("--source", required=True, type=_source_name,
                         help=f"source name under `{name}.sources` in config/sources.yaml")
        _option_flags(one, domain.PullOptions)
        _load_flags(one)
        one.set_defaults(handler=_cmd_pull, domain=domain)

    demo = sub.add_parser("demo", help="run the whole pipeline on generated demo feeds",
                          description="Generate demo feeds in the real formats for the "
                                      "region, run them through the pipeline for one month "
                                      "and build the warehouse.")
    demo.add_argument("--month", help="YYYY-MM (default: the last full month)")
    demo.add_argument("--seed", type=int, default=2026, help="generator seed (default 2026)")
    demo.set_defaults(handler=_cmd_demo)

    query = sub.add_parser("query", help="run read-only SQL against the warehouse")
    query.add_argument("sql", help='SQL, e.g. "SELECT * FROM ingest_runs LIMIT 5"')
    query.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    query.add_argument("--as-of", type=_as_of, metavar="TIME|SNAPSHOT",
                       help="lakehouse only: what the warehouse said then, an ISO time "
                            "(UTC unless it names a zone) or a snapshot id")
    query.set_defaults(handler=_cmd_query)

    lh = sub.add_parser("lakehouse", help="the DuckLake lakehouse (docs/lakehouse.md)")
    lh_commands = lh.add_subparsers(title="lakehouse commands", metavar="ACTION",
                                    required=True)
    lh_commands.add_parser(
        "info", help="its configuration and the SQL that attaches it read-only "
                     "from the DuckDB CLI").set_defaults(handler=_cmd_lakehouse_info)
    snaps = lh_commands.add_parser("snapshots", help="its latest snapshots (for time travel)")
    snaps.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    snaps.set_defaults(handler=_cmd_lakehouse_snapshots)
    back = lh_commands.add_parser(
        "rollback", help="undo one run's load (its rows, marts and quarantine); the ledger "
                         "marks it rolled_back")
    back.add_argument("run_id", help="the run, as in ingest_runs.run_id")
    back.set_defaults(handler=_cmd_lakehouse_rollback)
    upkeep = lh_commands.add_parser(
        "compact", help="merge small files, expire old snapshots, delete unused files "
                        "(retention: config/lakehouse.yaml)")
    upkeep.add_argument("--keep-days", type=float, metavar="DAYS",
                        help="keep the snapshots of the last DAYS days (time travel, "
                             "rollback); default upkeep.keep_days")
    upkeep.add_argument("--grace-hours", type=float, metavar="HOURS",
                        help="delete freed files once HOURS have passed; default "
                             "upkeep.grace_hours")
    upkeep.set_defaults(handler=_cmd_lakehouse_compact)

    wh = sub.add_parser("warehouse", help="rebuild warehouse.duckdb from warehouse/*.sql")
    wh.set_defaults(handler=_cmd_warehouse)

    rec = sub.add_parser(
        "reconcile", help="after a crash: clean leftovers, list runs to load again",
        description="Check ENVMON_HOME against the ledger when no load is running: remove "
                    "leftover temporary files and quarantine rows no ledger row counts, and "
                    "list interrupted runs (with their landed files) and lake rows of runs "
                    "the ledger never recorded. Exits 3 while something needs loading again.")
    rec.add_argument("--dry-run", action="store_true", help="report only, remove nothing")
    rec.set_defaults(handler=_cmd_reconcile)

    from envmon.alerts.cli import configure as configure_alerts

    configure_alerts(sub)

    from envmon.reporting.cli import configure as configure_report
    from envmon.reporting.cli import configure_reports

    configure_report(sub)
    configure_reports(sub)

    from envmon.registry import configure as configure_registry

    configure_registry(sub)
    return parser


def _load_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="reload files whose exact bytes were already loaded")
    p.add_argument("--no-data-docs", dest="data_docs", action="store_false",
                   help="skip rendering Great Expectations Data Docs (faster)")


def _option_flags(parser: argparse.ArgumentParser, options: type) -> None:
    """One flag per field of a domain's options dataclass (envmon/core/requests.py)."""
    for spec in dataclasses.fields(options):
        flag = spec.metadata["flag"]
        parser.add_argument(flag.name, dest=spec.name, help=flag.help, metavar=flag.metavar,
                            required=flag.required, default=spec.default,
                            type=_usage_checked(flag.parse) if flag.parse else None)


def _usage_checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """argparse type: a value the domain cannot read is a usage error, with its reason."""
    def read(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    return read


def _options(args: argparse.Namespace, options: type) -> Any:
    return options(**{spec.name: getattr(args, spec.name)
                      for spec in dataclasses.fields(options)})


def _ingest_request(args: argparse.Namespace, paths: Sequence[Path]) -> IngestRequest:
    from envmon.core.progress import ConsoleReporter

    return IngestRequest(paths=tuple(paths), fmt=args.fmt,
                         options=_options(args, args.domain.IngestOptions), source=args.source,
                         force=args.force, data_docs=args.data_docs, reporter=ConsoleReporter())


def _cmd_ingest(args: argparse.Namespace) -> int:
    for path in args.paths:
        _check_delivery_path(path, follow_symlinks=args.follow_symlinks)
    paths = [p.resolve() for p in args.paths] if args.follow_symlinks else args.paths
    if args.workers < 1:
        raise EnvmonError("--workers must be at least 1")
    if args.workers > 1 and len(paths) > 1:
        code = _ingest_in_workers(args.domain, _ingest_request(args, paths), args.workers)
    else:
        code = _exit_code(args.domain.ingest(_ingest_request(args, paths)),
                          incomplete_fails=False)
    _rebuild_warehouse()
    return code


def _check_delivery_path(path: Path, *, follow_symlinks: bool) -> None:
    """Refuse a bad argument before anything is landed (landing refuses it again)."""
    if path.is_symlink() and not follow_symlinks:
        raise EnvmonError(f"{path}: is a symbolic link; envmon loads regular files only "
                          "(pass --follow-symlinks to load what it points to)")
    if path.is_dir():
        raise EnvmonError(f"{path}: is a directory; give the files in it")
    if not path.exists():
        raise EnvmonError(f"{path}: no such file")
    if not path.is_file():
        raise EnvmonError(f"{path}: is not a regular file")


def _source_name(value: str) -> str:
    """argparse type: a source name that is safe as a directory name."""
    from envmon.core.names import checked

    try:
        return checked(value, "source")
    except EnvmonError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _ingest_in_workers(domain: Domain, request: IngestRequest, workers: int) -> int:
    """Split the files into contiguous slices, one process each.

    Safe because every load takes the same locks a second `envmon ingest`
    would (delivery stripes, partition writes, marts), and a day or month
    two slices share is derived again by whichever finishes last, after both
    loads. Each slice keeps the files' order. A domain opts in with
    PARALLEL_INGEST (hazardous-waste exports depend on the one before).
    """
    import multiprocessing

    paths = request.paths
    count = min(workers, len(paths))
    size = -(-len(paths) // count)
    slices = [paths[i:i + size] for i in range(0, len(paths), size)]
    # fork: the parent has imported nothing heavy yet, and no thread runs.
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_ingest_slice,
                                 args=(domain, dataclasses.replace(request, paths=part)),
                                 name=f"worker{i + 1}")
                 for i, part in enumerate(slices)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    codes = [p.exitcode for p in processes]
    return 0 if all(c == 0 for c in codes) else EXIT_BAD_INPUT


def _ingest_slice(domain: Domain, request: IngestRequest) -> None:
    sys.exit(_handled(lambda: _exit_code(domain.ingest(request), incomplete_fails=False)))


def _cmd_pull(args: argparse.Namespace) -> int:
    from envmon.core.progress import ConsoleReporter

    started = time.perf_counter()
    request = PullRequest(source=args.source, options=_options(args, args.domain.PullOptions),
                          force=args.force, data_docs=args.data_docs,
                          reporter=ConsoleReporter())
    records = args.domain.pull(request)
    _rebuild_warehouse()
    print(f"pulled {len(records)} batch(es) in {time.perf_counter() - started:.1f}s")
    return _exit_code(records, incomplete_fails=True)


def _cmd_demo(args: argparse.Namespace) -> int:
    from envmon.demo.run import run_demo

    return run_demo(month=args.month, seed=args.seed)


def _cmd_query(args: argparse.Namespace) -> int:
    from envmon.core.warehouse import connect_locked, refuse_writes

    # Locked: the SQL reads the views' files and nothing else (see connect_locked).
    con = connect_locked(as_of=args.as_of)
    try:
        refuse_writes(args.sql)
        relation = con.sql(args.sql)
        if relation is None:
            return 0
        if args.csv:
            relation.to_df().to_csv(sys.stdout, index=False)
        else:
            relation.show(max_rows=200, max_width=200)
    except Exception as exc:  # duckdb raises many types; a user's SQL error is not a crash
        raise EnvmonError(f"query failed: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
    return 0


def _cmd_lakehouse_info(args: argparse.Namespace) -> int:
    from envmon.core import lakehouse

    print(f"storage in use: {lakehouse.storage()} (ENVMON_STORAGE, docs/lakehouse.md)")
    config = lakehouse.settings()
    print(config.describe())
    print("-- attach read-only from the DuckDB CLI (1.5.5); with S3, fill in the keys:")
    for line in lakehouse.attach_sql(config):
        print(line)
    return 0


def _cmd_lakehouse_snapshots(args: argparse.Namespace) -> int:
    from envmon.core import lakehouse

    con = lakehouse.connect(read_only=True)
    try:
        history = lakehouse.snapshots(con)
    finally:
        con.close()
    print("snapshot_id  time (UTC)                  changes")
    for snap in history[-args.limit:]:
        changes = "; ".join(f"{kind} {', '.join(map(str, what))}"
                            for kind, what in sorted(snap.changes.items()))
        print(f"{snap.snapshot_id:>11}  {snap.time:%Y-%m-%d %H:%M:%S.%f}  {changes}")
    print("read one: SELECT ... FROM lake.<table> AT (VERSION => snapshot_id)")
    return 0


def _cmd_lakehouse_rollback(args: argparse.Namespace) -> int:
    from envmon.core.rollback import rollback
    from envmon.domains import after_rollback, build_warehouse

    result = rollback(args.run_id)
    print(result.summary())
    for line in after_rollback(result.dataset):
        print(line)
    build_warehouse()
    return 0


def _cmd_lakehouse_compact(args: argparse.Namespace) -> int:
    from envmon.core.upkeep import compact, retention

    done = compact(retention({"keep_days": args.keep_days, "grace_hours": args.grace_hours}))
    print(done.summary())
    return 0


def _as_of(text: str) -> datetime | int:
    """--as-of: a snapshot id, or an ISO time (naive means UTC)."""
    if text.isdigit():
        return int(text)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give an ISO time such as "
                                         "2026-12-01T08:00+08:00, or a snapshot id") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _cmd_warehouse(args: argparse.Namespace) -> int:
    print(f"warehouse rebuilt: {_rebuild_warehouse()}")
    return 0


def _cmd_reconcile(args: argparse.Namespace) -> int:
    from envmon.core.reconcile import reconcile

    findings = reconcile(dry_run=args.dry_run)
    for line in findings.lines():
        print(line)
    print("consistent" if findings.clean else "load the runs above again, then re-run "
          "`envmon reconcile`")
    return 0 if findings.clean else EXIT_INCOMPLETE


def _rebuild_warehouse() -> Path:
    from envmon.domains import build_warehouse

    return build_warehouse()


def _exit_code(records: list, *, incomplete_fails: bool) -> int:
    if any(r.status == "failed" for r in records):
        return EXIT_BAD_INPUT
    if incomplete_fails and any(r.status == "incomplete" for r in records):
        return EXIT_INCOMPLETE
    return 0


if __name__ == "__main__":
    sys.exit(main())
