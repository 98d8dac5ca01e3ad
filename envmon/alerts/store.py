"""The alert store: three small tables (envmon.core.stores).

    alerts        current state, one row per (rule, subject, period)
    alert_events  history: raised, resolved, reopened, notified,
                  delivered, failed (one row per event, never edited)
    outbox        one row per notice x channel, with its delivery state

On the lakehouse each is a table (`alerts`, `alert_events`, `alert_outbox`)
that every host reads and writes, so workers need no shared file system; on
the files layout each is a Parquet file under ENVMON_HOME/alerts/. Either
way a table is rewritten whole (one transaction, or write-then-rename) by a
process holding the `alerts` lock (a PostgreSQL advisory lock on a shared
lakehouse), so concurrent runs on any host take turns and a crash leaves
the previous version readable. Volumes are small (alerts are rare by
design), so rewriting is cheaper than managing partitions; see docs/alerts.md.

Writes go outbox -> events -> state and every id is deterministic, so a run
that dies between two writes is completed by the next run without a
duplicate notice: it recomputes the same transitions, the outbox already
holds those notices, and events are de-duplicated by id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from envmon.core import lakehouse, stores
from envmon.core.atomic import write_atomic
from envmon.core.locks import dataset_lock
from envmon.core.settings import home

LOCK_NAME = "alerts"
_TS = pa.timestamp("us", tz="UTC")

ALERT_SCHEMA = pa.schema([
    ("alert_id", pa.string()),
    ("rule", pa.string()),
    ("subject", pa.string()),
    ("subject_name", pa.string()),
    ("period", pa.string()),
    ("severity", pa.string()),
    ("title", pa.string()),
    ("title_zh", pa.string()),
    ("standard", pa.string()),
    ("unit", pa.string()),
    # open: the condition holds; resolved: it ended or the rule no longer
    # returns it; notified: a one-shot notice (an Airflow task failure).
    ("status", pa.string()),
    ("value", pa.float64()),
    ("detail", pa.string()),
    ("first_raised_at", _TS),
    ("last_seen_at", _TS),
    ("resolved_at", _TS),
    ("resolve_reason", pa.string()),
    # Number of state changes so far; the next notice's sequence number.
    ("transitions", pa.int32()),
    ("last_run_id", pa.string()),
])

EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()),
    ("at", _TS),
    ("run_id", pa.string()),
    ("alert_id", pa.string()),
    ("rule", pa.string()),
    ("subject", pa.string()),
    ("period", pa.string()),
    ("event", pa.string()),
    ("notice_id", pa.string()),
    ("channel", pa.string()),
    ("attempt", pa.int32()),
    ("message", pa.string()),
])

OUTBOX_SCHEMA = pa.schema([
    ("outbox_id", pa.string()),
    ("notice_id", pa.string()),
    ("alert_id", pa.string()),
    ("kind", pa.string()),
    ("channel", pa.string()),
    ("status", pa.string()),  # pending | sent
    ("created_at", _TS),
    ("attempts", pa.int32()),
    ("next_attempt_at", _TS),
    ("last_attempt_at", _TS),
    ("last_error", pa.string()),
    ("sent_at", _TS),
    ("payload", pa.string()),  # the notice as JSON: the webhook body, the email's content
])

TABLES: dict[str, pa.Schema] = {
    "alerts": ALERT_SCHEMA,
    "alert_events": EVENT_SCHEMA,
    "outbox": OUTBOX_SCHEMA,
}
# Each table's store (envmon.core.stores): its lakehouse table and its file.
STORES = {"alerts": "alerts", "alert_events": "alert_events", "outbox": "alert_outbox"}


def store_dir() -> Path:
    """Where the files layout keeps the three files."""
    return table_path("alerts").parent


def table_path(name: str) -> Path:
    """The table's file on the files layout."""
    if name not in TABLES:
        raise KeyError(f"unknown alert store table {name!r}")
    return home().root / stores.store(STORES[name]).files


@contextmanager
def store_lock() -> Iterator[None]:
    """Exclusive access to the store (an flock, released if the process dies)."""
    with dataset_lock(LOCK_NAME):
        yield


def read(name: str) -> list[dict[str, Any]]:
    if lakehouse.active():
        return stores.read(STORES[name]).to_pylist()
    path = table_path(name)
    if not path.exists():
        return []
    return pq.read_table(path, schema=TABLES[name]).to_pylist()


def write(name: str, rows: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(rows, schema=TABLES[name])
    if lakehouse.active():
        stores.rewrite(STORES[name], table)
        return
    write_atomic(table_path(name), lambda tmp: pq.write_table(table, tmp))


def append_events(rows: list[dict[str, Any]]) -> int:
    """Add events whose id is not stored yet; returns how many were new."""
    if not rows:
        return 0
    existing = read("alert_events")
    seen = {row["event_id"] for row in existing}
    new = []
    for row in rows:
        if row["event_id"] not in seen:
            seen.add(row["event_id"])
            new.append(row)
    if new and lakehouse.active():
        stores.append(STORES["alert_events"], pa.Table.from_pylist(new, schema=EVENT_SCHEMA))
    elif new:
        write("alert_events", existing + new)
    return len(new)


def ensure_store() -> str:
    """Create the tables (empty, typed) that do not exist yet (safe to call any time);
    returns where the store is.

    The warehouse views do not need this (they read an empty stand-in meanwhile), but a
    tool that reads the files or tables directly finds them with the right columns.
    """
    with store_lock():
        for name in TABLES:
            if lakehouse.active():
                stores.ensure(STORES[name])
            elif not table_path(name).exists():
                write(name, [])
    if lakehouse.active():
        return f"the lakehouse tables {', '.join(STORES.values())}"
    return str(store_dir())
