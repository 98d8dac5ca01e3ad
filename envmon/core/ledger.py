"""The run ledger: one row per ingest run, so every batch can be accounted for.

rows_in = rows_loaded + rows_quarantined, always (checked before writing).

The ledger row is what commits a run. Around it:
- `ledger/started/<run_id>.json` is written before a run writes anything to
  the lake or quarantine and removed once its row is written, so a run killed
  in between is found (`interrupted_runs`, `envmon reconcile`) with the
  landed bytes to load again;
- `ledger/loaded/<dataset>/<sha256>` names the run that loaded those bytes.
  It is written before the row, and trusted only when that run's row exists:
  a kill between the two leaves a marker that `loaded_by` ignores, so the
  re-run loads the file (the lake upsert by key makes that idempotent) and
  the ledger counts it once.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from envmon.core import lake_tables, lakehouse
from envmon.core.atomic import write_atomic, write_bytes_atomic
from envmon.core.faults import fault_point
from envmon.core.names import checked
from envmon.core.settings import home

# ok: loaded and every check passed; incomplete: loaded, but a batch-level
# check (completeness) failed; failed: nothing loaded (unreadable file, or a
# fatal check sent the whole batch to quarantine); duplicate: these exact
# bytes were already loaded, nothing done; rolled_back: loaded, then undone
# on the lakehouse (envmon.core.rollback), so no longer counted as loaded.
STATUSES = ("ok", "incomplete", "failed", "duplicate", "rolled_back")

LEDGER_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("dataset", pa.string()),
    ("source", pa.string()),
    ("files", pa.string()),
    ("sha256", pa.string()),
    ("started_at", pa.timestamp("us", tz="UTC")),
    ("finished_at", pa.timestamp("us", tz="UTC")),
    ("duration_s", pa.float64()),
    ("rows_in", pa.int64()),
    ("rows_loaded", pa.int64()),
    ("rows_quarantined", pa.int64()),
    ("status", pa.string()),
    ("validation_success", pa.bool_()),
    ("message", pa.string()),
    ("partitions", pa.string()),
    ("timings", pa.string()),
])


# The ledger's table on the lakehouse (ENVMON_STORAGE=lakehouse).
RUNS_TABLE = "ledger_runs"


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


@dataclass
class RunRecord:
    run_id: str
    dataset: str
    source: str
    files: list[str]
    sha256: str
    started_at: datetime
    finished_at: datetime | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    status: str = "ok"
    validation_success: bool | None = None
    message: str = ""
    partitions: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        files = ", ".join(self.files) or self.sha256[:12]
        return (f"{files}: {self.status}, {self.rows_loaded:,} rows loaded, "
                f"{self.rows_quarantined:,} quarantined "
                f"({sum(self.timings.values()):.1f}s, run {self.run_id})")

    def reset(self) -> None:
        """Back to before the store, for a transaction that runs again."""
        self.finished_at = None
        self.rows_in = self.rows_loaded = self.rows_quarantined = 0
        self.status, self.validation_success, self.message = "ok", None, ""
        self.partitions = []

    def check_balance(self) -> None:
        if self.rows_in != self.rows_loaded + self.rows_quarantined:
            raise AssertionError(
                f"ledger does not balance for run {self.run_id}: rows_in {self.rows_in} != "
                f"loaded {self.rows_loaded} + quarantined {self.rows_quarantined}")


def record_run(record: RunRecord, *, keep_journal: bool = False) -> Path | None:
    """Write the run's ledger row (one small Parquet file per run).

    `keep_journal` keeps the run's `started` entry: a run that stopped while
    writing the lake stays listed by `interrupted_runs` until its bytes are
    loaded again.
    """
    record.check_balance()
    if record.status not in STATUSES:
        raise ValueError(f"unknown run status {record.status!r}")
    record.finished_at = record.finished_at or datetime.now(UTC)
    row = asdict(record)
    row["files"] = ";".join(record.files)
    row["partitions"] = ";".join(record.partitions)
    row["timings"] = json.dumps({k: round(v, 4) for k, v in record.timings.items()})
    row["duration_s"] = (record.finished_at - record.started_at).total_seconds()
    table = pa.Table.from_pylist([row], schema=LEDGER_SCHEMA)
    if lakehouse.active():
        # The row commits with the run's lake writes (one transaction), so
        # the row itself says the bytes are loaded: no marker, no journal.
        # The fault points are the files layout's, here both before the
        # commit: a kill at either leaves nothing of the run.
        fault_point("before-ledger-row")
        lake_tables.append(RUNS_TABLE, table)
        fault_point("after-ledger-row")
        return None
    if record.status in ("ok", "incomplete"):
        _mark_loaded(record.dataset, record.sha256, record.run_id)
    fault_point("before-ledger-row")
    path = run_path(record.run_id)
    write_atomic(path, lambda tmp: pq.write_table(table, tmp))
    fault_point("after-ledger-row")
    if not keep_journal:
        _journal(record.run_id).unlink(missing_ok=True)
    return path


def run_path(run_id: str) -> Path:
    return home().ledger / "runs" / f"{run_id}.parquet"


def loaded_by(dataset: str, sha256: str) -> str | None:
    """The run that already loaded these exact bytes into `dataset`, if any."""
    return loaded_runs(dataset, [sha256]).get(sha256)


def loaded_runs(dataset: str, shas: Sequence[str]) -> dict[str, str]:
    """sha256 -> the run that already loaded those bytes into `dataset`, for
    the ones loaded: one ledger query for a whole group on the lakehouse.

    A marker whose run has no ledger row is from a run killed before it was
    recorded: those bytes are not loaded as far as the ledger knows.
    """
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    if lakehouse.active():
        within = ", ".join("?" for _ in wanted)
        rows = lake_tables.select(
            RUNS_TABLE, "SELECT sha256, arg_max(run_id, finished_at) FROM {table} "
            f"WHERE dataset = ? AND sha256 IN ({within}) AND status IN ('ok', 'incomplete') "
            "GROUP BY sha256", [dataset, *wanted])
        return dict(rows)
    found = {}
    for sha in wanted:
        marker = _marker(dataset, sha)
        if marker.exists():
            run_id = marker.read_text().strip()
            if run_path(run_id).exists():
                found[sha] = run_id
    return found


def begin_writes(record: RunRecord, landed: list[Path]) -> None:
    """Note that `record`'s run is about to write the lake and quarantine.

    Not on the lakehouse: there a run's writes and its row commit together,
    and a run killed before the commit left nothing to find."""
    if lakehouse.active():
        return
    entry = {"run_id": record.run_id, "dataset": record.dataset, "source": record.source,
             "files": record.files, "sha256": record.sha256,
             "landed": [str(p) for p in landed],
             "started_at": record.started_at.isoformat(), "pid": os.getpid(),
             "host": socket.gethostname()}
    write_bytes_atomic(_journal(record.run_id), json.dumps(entry, ensure_ascii=False).encode())


def writes_began(run_id: str) -> bool:
    if lakehouse.active():
        return False
    return _journal(run_id).exists()


def journal_entries() -> list[tuple[Path, dict]]:
    """Runs that began writing and were not recorded as loaded: killed, or
    stopped by a failing disk. Each entry names its dataset, sha256 and landed
    files. None on the lakehouse (see begin_writes)."""
    if lakehouse.active():
        return []
    return [(path, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted((home().ledger / "started").glob("*.json"))]


def _journal(run_id: str) -> Path:
    return home().ledger / "started" / f"{run_id}.json"


def _mark_loaded(dataset: str, sha256: str, run_id: str) -> None:
    write_bytes_atomic(_marker(dataset, sha256), run_id.encode())


def _marker(dataset: str, sha256: str) -> Path:
    return home().ledger / "loaded" / checked(dataset, "dataset") / sha256
