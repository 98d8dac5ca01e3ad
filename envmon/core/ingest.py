"""One batch, from landed bytes to the lake: parse, check, load, account.

Domain packages describe their dataset with a DatasetSpec; this module does
the parts every dataset shares so that each follows the same rules: nothing
is lost (every parsed row is loaded or quarantined, with a reason), the same
bytes twice change nothing, and every run writes a ledger row.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa

from envmon.core import lake, lakehouse
from envmon.core.checks import CheckOutcome, validate_many
from envmon.core.errors import InputError
from envmon.core.faults import fault_point
from envmon.core.landing import LandedFile, keep_in_lakehouse, prepare_lakehouse_landing
from envmon.core.ledger import (
    RunRecord,
    begin_writes,
    loaded_runs,
    new_run_id,
    record_run,
    writes_began,
)
from envmon.core.locks import dataset_lock, loading
from envmon.core.parsing import ParseResult
from envmon.core.quarantine import QuarantineRow, rows_from_frame, write_quarantine
from envmon.core.reconcile import tidy_if_alone


@dataclass(frozen=True)
class DatasetSpec:
    """How one canonical dataset is checked, shaped and stored."""

    name: str
    schema: pa.Schema  # stored columns; the partition column lives in the path
    keys: tuple[str, ...]
    partition_col: str
    # Parsed, checked rows -> stored rows (adds derived columns and `partition_col`).
    shape: Callable[[pd.DataFrame, str, str], pd.DataFrame]
    # Called with the partition values a load touched (derived marts).
    after_load: Callable[[list[str]], None] | None = None
    # A table's deliveries are checked and written in groups (see run_deliveries).
    grouped: bool = True

    def check(self, parsed: list[Parsed], options: BatchOptions) -> list[CheckOutcome]:
        """One Great Expectations run for the group's rows, each row with its window."""
        return validate_many(
            self.name, [_with_window(p.result) for p in parsed],
            run_ids=[p.record.run_id for p in parsed],
            params=[dict(options.check_params) for _ in parsed], data_docs=options.data_docs)

    def locks(self, parsed: list[Parsed], source: str) -> list[tuple[str, bool]]:
        """The deliveries' lock stripes, exclusive, in one order for everyone."""
        return [(stripe, False) for stripe in sorted({_stripe(self, p.record.sha256)
                                                      for p in parsed})]

    def store(self, parsed: list[Parsed], outcomes: list[CheckOutcome], *, source: str,
              clock: StepClock) -> None:
        """Upsert the good rows, quarantine the rest, derive the marts, fill the counts."""
        with clock("load"):
            stored = [self.shape(o.good.drop(columns=list(WINDOW_COLUMNS)), source,
                                 p.record.run_id)
                      for p, o in zip(parsed, outcomes, strict=True)]
            # A key given twice in the group (a file and its correction) is the later one's.
            combined = pd.concat(stored, ignore_index=True).drop_duplicates(list(self.keys),
                                                                            keep="last")
            touched = lake.upsert_partitions(self.name, combined,
                                             partition_col=self.partition_col, part=source,
                                             keys=self.keys, schema=self.schema)
            for p, outcome, rows in zip(parsed, outcomes, stored, strict=True):
                p.record.partitions = sorted(set(rows[self.partition_col].astype(str)))
                _account(p, outcome, rows, source=source)
        if self.after_load and touched:
            # Derived marts are read-modify-write: two loads touching the same
            # period must not interleave, or the later mart misses the other's rows.
            with clock("derive"), dataset_lock(f"{self.name}.derive"):
                self.after_load(touched)


class Loader(Protocol):
    """What run_deliveries asks of what it loads: one table (DatasetSpec) or
    a delivery that fills several (hazardous-waste exports).

    `name` is the ledger's dataset (loaded markers, ledger rows); `grouped`
    says whether several deliveries may be checked and written together.
    `check` judges the parsed deliveries (one outcome each, no lake access),
    `locks` names the locks (name, shared) to hold from the duplicate
    re-check to the ledger rows, and `store` writes the lake and quarantine
    and fills each record's counts, status, message and partitions.
    """

    name: str
    grouped: bool

    def check(self, parsed: list[Parsed], options: BatchOptions) -> list[Any]: ...

    def locks(self, parsed: list[Parsed], source: str) -> list[tuple[str, bool]]: ...

    def store(self, parsed: list[Parsed], outcomes: list[Any], *, source: str,
              clock: StepClock) -> None: ...


# Input bytes checked and written together (see run_deliveries). 32 MB is a
# dozen national air files or a hundred water pages: GX's fixed cost per run
# is paid once for them, and a group's frames stay well under 1 GB.
GROUP_BYTES = 32 * 1024 * 1024


@dataclass
class BatchOptions:
    check_params: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    data_docs: bool = True
    group_bytes: int = field(default_factory=lambda: GROUP_BYTES)


@dataclass(frozen=True)
class Delivery:
    """One delivery to load: its landed files and how to parse them.

    `parse` returns a ParseResult for a table, or what the loader's `check`
    reads (a hazardous-waste export).
    """

    landed: list[LandedFile]
    parse: Callable[[], Any]


def batch_sha(landed: list[LandedFile]) -> str:
    if len(landed) == 1:
        return landed[0].sha256
    return hashlib.sha256("".join(sorted(f.sha256 for f in landed)).encode()).hexdigest()


def run_batch(loader: Loader, landed: list[LandedFile], parse: Callable[[], Any], *,
              source: str, options: BatchOptions | None = None) -> RunRecord:
    """Load one delivery (one file, or the pages of one pull) into the lake."""
    return run_deliveries(loader, [Delivery(landed, parse)], source=source, options=options)[0]


def run_deliveries(loader: Loader, deliveries: Iterable[Delivery], *, source: str,
                   options: BatchOptions | None = None,
                   on_record: Callable[[RunRecord], None] | None = None) -> list[RunRecord]:
    """Load deliveries of one source in groups: one ledger row per delivery.

    A group (up to `group_bytes` of input) is checked with one Great
    Expectations run for its row checks and written with one upsert per
    partition it touches, and its marts are derived once: a backfill pays
    those per-call costs per group, not per file. Each delivery still gets
    its own batch and fatal checks, quarantine rows and ledger row, and the
    same delivery started twice at once is loaded once. A loader that is not
    `grouped` gets each delivery alone, in the order given.
    """
    options = options or BatchOptions()
    records: list[RunRecord] = []
    tidy_if_alone()
    with loading():
        limit = options.group_bytes if loader.grouped else 0
        for group in _groups(deliveries, limit):
            for record in _run_group(loader, group, source=source, options=options):
                records.append(record)
                if on_record:
                    on_record(record)
    return records


def _stripe(spec: DatasetSpec, sha: str) -> str:
    # 64 lock stripes per dataset rather than a lock file per delivery: two
    # different deliveries sharing a stripe only take turns, which their
    # partition writes do anyway.
    return f"{spec.name}.batch{int(sha[:8], 16) % 64:02d}"


def _groups(deliveries: Iterable[Delivery], limit: int) -> Iterator[list[Delivery]]:
    group: list[Delivery] = []
    size = 0
    pending = iter(deliveries)
    while True:
        try:
            delivery = next(pending)
        except StopIteration:
            break
        except BaseException:
            # Landing the next file failed: the files already landed are
            # loaded (and get their ledger rows) before the error goes on.
            if group:
                yield group
            raise
        weight = sum(f.path.stat().st_size for f in delivery.landed)
        if group and size + weight > limit:
            yield group
            group, size = [], 0
        group.append(delivery)
        size += weight
    if group:
        yield group


@dataclass
class Parsed:
    """A delivery that parsed: its ledger record, what its parser returned, its files."""

    record: RunRecord
    result: Any
    landed: list[LandedFile]


def failure_message(exc: BaseException) -> str:
    """A ledger message for a delivery that could not be read."""
    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "cannot be read: structure nested too deeply"
    # Not a known input problem: name the exception so it can be reported as a bug.
    detail = " ".join(str(exc).split())[:300]
    return f"cannot be read: internal error {type(exc).__name__}: {detail}"


@contextmanager
def recorded_on_failure(records: list[RunRecord]) -> Iterator[None]:
    """Every landed delivery gets a ledger row, whatever goes wrong after landing.

    A run still unrecorded when an exception escapes (a full disk, a bug, an
    interrupt) is recorded as failed, nothing counted as loaded, and the
    exception goes on to the caller. One that had begun writing the lake
    says so and stays in the journal (`envmon reconcile`) until its bytes
    are loaded again. A row that cannot be written either (the same full
    disk) is left to the journal too.
    """
    try:
        yield
    except BaseException as exc:
        for record in records:
            if record.finished_at is not None:
                continue
            began = writes_began(record.run_id)
            record.status = "failed"
            record.message = (f"run stopped{' while writing the lake' if began else ''}: "
                              f"{failure_message(exc)}"
                              + ("; some of its rows may be in the lake: load the file again"
                                 if began else ""))
            record.rows_in = record.rows_loaded = record.rows_quarantined = 0
            with suppress(Exception):
                record_run(record, keep_journal=began)
        raise


def _run_group(loader: Loader, group: list[Delivery], *, source: str,
               options: BatchOptions) -> list[RunRecord]:
    records: list[RunRecord] = []
    with recorded_on_failure(records):
        _load_group(loader, group, records, source=source, options=options)
    return records


def _load_group(loader: Loader, group: list[Delivery], records: list[RunRecord], *,
                source: str, options: BatchOptions) -> None:
    parsed: list[Parsed] = []
    taken: dict[str, str] = {}  # sha256 -> run of this group that carries those bytes
    shas = [batch_sha(delivery.landed) for delivery in group]
    loaded = {} if options.force else loaded_runs(loader.name, shas)
    for delivery, sha in zip(group, shas, strict=True):
        record = RunRecord(run_id=new_run_id(), dataset=loader.name, source=source,
                           files=[f.name for f in delivery.landed], sha256=sha,
                           started_at=datetime.now(UTC))
        records.append(record)
        earlier = loaded.get(sha)
        if earlier or sha in taken:
            _duplicate(record, earlier or f"{taken[sha]} of this command")
            continue
        try:
            with StepClock(record.timings)("parse"):
                result = delivery.parse()
        except Exception as exc:  # noqa: BLE001 - any parser failure is this file's, not the batch's
            record.status, record.message = "failed", failure_message(exc)
            _record_unreadable(loader, record, delivery.landed)
            continue
        taken[sha] = record.run_id
        parsed.append(Parsed(record, result, delivery.landed))
    if not parsed:
        return

    clock = StepClock(*(p.record.timings for p in parsed))
    with clock("validate"):
        outcomes = loader.check(parsed, options)
    # Parsing and checking need no lock (they only read the delivery), so two
    # commands overlap there; the lake is written under the loader's locks,
    # taken in one order by everyone so two groups never deadlock.
    fault_point("before-store")
    with ExitStack() as held:
        for name, shared in loader.locks(parsed, source):
            held.enter_context(dataset_lock(name, shared=shared))
        _store(loader, parsed, outcomes, source=source, options=options)


def _record_unreadable(loader: Loader, record: RunRecord, landed: list[LandedFile]) -> None:
    """The ledger row of a delivery that did not parse; on the lakehouse its
    bytes are kept there in the same commit, as a load's are."""
    if lakehouse.active():
        _commit_with_bytes(loader, landed, lambda: record_run(record))
    else:
        record_run(record)


def _commit_with_bytes(loader: Loader, landed: list[LandedFile], work: Callable[[], None]
                       ) -> None:
    """`work` and the deliveries' bytes (lake.landing) as one lakehouse commit
    claiming the loader's dataset, run again whole on a conflict."""
    def attempt() -> None:
        keep_in_lakehouse(landed)
        work()

    prepare_lakehouse_landing()
    lakehouse.run(attempt, claims=[loader.name])


def _duplicate(record: RunRecord, earlier: str) -> None:
    record.status = "duplicate"
    record.message = f"already loaded by run {earlier}; nothing changed"
    record_run(record)


def _store(loader: Loader, parsed: list[Parsed], outcomes: list[Any], *, source: str,
           options: BatchOptions) -> None:
    """Load, quarantine, derive and record the group's deliveries (under the loader's locks).

    On the lakehouse all of it is one transaction: another host's commit to
    the same dataset in between makes it conflict, and it runs again from the
    duplicate check on what that host wrote (the claim on the loader's name
    is what makes a new key or a new delivery conflict, see lakehouse.transact).
    """
    if not lakehouse.active():
        _store_once(loader, parsed, outcomes, source=source, options=options)
        return

    def attempt() -> None:
        for p in parsed:
            p.record.reset()
        _store_once(loader, parsed, outcomes, source=source, options=options)

    _commit_with_bytes(loader, [f for p in parsed for f in p.landed], attempt)


def _store_once(loader: Loader, parsed: list[Parsed], outcomes: list[Any], *, source: str,
                options: BatchOptions) -> None:
    fresh = []
    # Re-checked under the lock: the same bytes may have been loaded by
    # another command while this one parsed them.
    loaded = {} if options.force else loaded_runs(loader.name,
                                                  [p.record.sha256 for p in parsed])
    for p, outcome in zip(parsed, outcomes, strict=True):
        earlier = loaded.get(p.record.sha256)
        if earlier:
            _duplicate(p.record, earlier)
        else:
            fresh.append((p, outcome))
    if not fresh:
        return
    parsed, outcomes = [p for p, _ in fresh], [o for _, o in fresh]
    for p in parsed:
        begin_writes(p.record, [f.path for f in p.landed])
    loader.store(parsed, outcomes, source=source,
                 clock=StepClock(*(p.record.timings for p in parsed)))
    fault_point("after-lake-write")
    for p in parsed:
        record_run(p.record)


WINDOW_COLUMNS = ("window_start", "window_end")


def _with_window(result: ParseResult) -> pd.DataFrame:
    """The parsed rows with the time window their delivery claims, per row.

    The suites compare each row's time with its own delivery's window, so
    deliveries of different days can be checked in one run.
    """
    frame = result.frame
    dtype = frame["ts"].dtype if "ts" in frame else "datetime64[ns, UTC]"
    first, last = result.window or (None, None)
    return frame.assign(**{
        name: pd.Series(pd.NaT if bound is None else pd.Timestamp(bound), index=frame.index,
                        dtype=dtype)
        for name, bound in zip(WINDOW_COLUMNS, (first, last), strict=True)})


def _account(parsed: Parsed, outcome: CheckOutcome, stored: pd.DataFrame, *,
             source: str) -> None:
    """Quarantine what was refused and fill the delivery's ledger counts and status."""
    record, result = parsed.record, parsed.result
    bad = outcome.bad.drop(columns=list(WINDOW_COLUMNS))
    quarantined = [QuarantineRow.from_reject(r) for r in result.rejects]
    quarantined += rows_from_frame(bad.drop(columns=["_reason", "_check", "_field"]),
                                   bad["_reason"], bad["_check"], bad["_field"])
    write_quarantine(quarantined, run_id=record.run_id, dataset=record.dataset, source=source,
                     file=";".join(record.files), sha256=record.sha256)
    record.rows_in = len(result.frame) + len(result.rejects)
    record.rows_loaded = len(stored)
    record.rows_quarantined = len(quarantined)
    record.validation_success = outcome.success
    # The parser's findings about the delivery as a whole (a day file lacking
    # hours) are batch-level: they cost no row, and make the run incomplete.
    messages = outcome.fatal_failures + outcome.batch_failures + result.warnings
    if record.rows_in and not record.rows_loaded and not outcome.fatal_failures:
        messages.append("no row passed the checks (see quarantine)")
    if outcome.fatal_failures or (record.rows_in and not record.rows_loaded):
        record.status = "failed"
    elif outcome.batch_failures or result.warnings:
        record.status = "incomplete"
    record.message = "; ".join(messages)


class StepClock:
    """Adds the wall time of each step to one or more timings dicts.

    Given several (the runs of a group), each gets an equal share.
    """

    def __init__(self, *timings: dict[str, float]) -> None:
        self.timings = timings

    def __call__(self, step: str) -> StepClock:
        self._step = step
        return self

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        share = (time.perf_counter() - self._start) / len(self.timings)
        for timings in self.timings:
            timings[self._step] = timings.get(self._step, 0.0) + share
