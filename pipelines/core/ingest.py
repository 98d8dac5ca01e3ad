"""One batch, from landed bytes to the lake: parse, check, load, account.

Domain packages describe their dataset with a DatasetSpec; this module does
the parts every dataset shares so that each follows the same rules: nothing
is lost (every parsed row is loaded or quarantined, with a reason), the same
bytes twice change nothing, and every run writes a ledger row.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines.core import lake
from pipelines.core.errors import InputError
from pipelines.core.landing import LandedFile
from pipelines.core.ledger import RunRecord, loaded_by, new_run_id, record_run
from pipelines.core.locks import dataset_lock
from pipelines.core.parsing import ParseResult
from pipelines.core.quarantine import QuarantineRow, rows_from_frame, write_quarantine


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


@dataclass
class BatchOptions:
    check_params: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    data_docs: bool = True


def batch_sha(landed: list[LandedFile]) -> str:
    if len(landed) == 1:
        return landed[0].sha256
    return hashlib.sha256("".join(sorted(f.sha256 for f in landed)).encode()).hexdigest()


def run_batch(spec: DatasetSpec, landed: list[LandedFile], parse: Callable[[], ParseResult], *,
              source: str, options: BatchOptions | None = None) -> RunRecord:
    """Load one delivery (one file, or the pages of one pull) into the lake.

    The same delivery started twice at once is loaded once: the second waits
    for the first and then finds it already loaded.
    """
    options = options or BatchOptions()
    sha = batch_sha(landed)
    # 64 lock stripes per dataset rather than a lock file per delivery: two
    # different deliveries sharing a stripe only take turns, which their
    # partition writes do anyway.
    with dataset_lock(f"{spec.name}.batch{int(sha[:8], 16) % 64:02d}"):
        return _run_locked(spec, landed, parse, sha, source=source, options=options)


def _run_locked(spec: DatasetSpec, landed: list[LandedFile], parse: Callable[[], ParseResult],
                sha: str, *, source: str, options: BatchOptions) -> RunRecord:
    from checks.runner import validate

    record = RunRecord(run_id=new_run_id(), dataset=spec.name, source=source,
                       files=[f.name for f in landed], sha256=sha,
                       started_at=datetime.now(UTC))
    earlier = None if options.force else loaded_by(spec.name, sha)
    if earlier:
        record.status = "duplicate"
        record.message = f"already loaded by run {earlier}; nothing changed"
        record_run(record)
        return record

    clock = _Clock(record.timings)
    try:
        with clock("parse"):
            parsed = parse()
    except InputError as exc:
        record.status, record.message = "failed", str(exc)
        record_run(record)
        return record

    params = dict(options.check_params)
    if parsed.window is not None:
        params.setdefault("window_start", pd.Timestamp(parsed.window[0]))
        params.setdefault("window_end", pd.Timestamp(parsed.window[1]))
    with clock("validate"):
        outcome = validate(spec.name, parsed.frame, run_id=record.run_id, params=params,
                           data_docs=options.data_docs)
    quarantined = [QuarantineRow.from_reject(r) for r in parsed.rejects]
    quarantined += rows_from_frame(outcome.bad.drop(columns=["_reason", "_check", "_field"]),
                                   outcome.bad["_reason"], outcome.bad["_check"],
                                   outcome.bad["_field"])
    with clock("load"):
        stored = spec.shape(outcome.good, source, record.run_id)
        record.partitions = lake.upsert_partitions(
            spec.name, stored, partition_col=spec.partition_col, part=source,
            keys=spec.keys, schema=spec.schema)
        write_quarantine(quarantined, run_id=record.run_id, dataset=spec.name, source=source,
                         file=";".join(record.files), sha256=sha)
    if spec.after_load and record.partitions:
        # Derived marts are read-modify-write: two loads touching the same
        # period must not interleave, or the later mart misses the other's rows.
        with clock("derive"), dataset_lock(f"{spec.name}.derive"):
            spec.after_load(record.partitions)

    record.rows_in = len(parsed.frame) + len(parsed.rejects)
    record.rows_loaded = len(stored)
    record.rows_quarantined = len(quarantined)
    record.validation_success = outcome.success
    messages = outcome.fatal_failures + outcome.batch_failures
    if record.rows_in and not record.rows_loaded and not outcome.fatal_failures:
        messages.append("no row passed the checks (see quarantine)")
    if outcome.fatal_failures or (record.rows_in and not record.rows_loaded):
        record.status = "failed"
    elif outcome.batch_failures:
        record.status = "incomplete"
    record.message = "; ".join(messages)
    record_run(record)
    return record


class _Clock:
    """Adds the wall time of each step to a timings dict."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    def __call__(self, step: str) -> _Clock:
        self._step = step
        return self

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self._step] = self.timings.get(self._step, 0.0) + (
            time.perf_counter() - self._start)
