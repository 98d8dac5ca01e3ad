"""Lakehouse upkeep (DuckLake): merge the small files loads leave behind,
expire the snapshots older than the history kept, and delete the files that
no kept snapshot reads.

Every load commits Parquet files of its own (an hourly air pull: a few per
dataset), and every replaced row adds a delete file, so a year of loads
leaves tens of thousands of small files that each query opens. `compact`
merges them (`ducklake_merge_adjacent_files`), expires the snapshots older
than `keep_days` (`--as-of` and `envmon lakehouse rollback` reach back that
far and no further), and deletes the files that merge or expiry freed once
`grace_hours` have passed since (a query that started before may still be
reading them). Each step is a DuckLake transaction of its own, retried on a
conflict with a load like any other (`lakehouse.transact`); two upkeeps
take turns through a lock (an advisory lock on a shared lakehouse).

The retention is a bureau's choice: config/lakehouse.yaml.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from envmon.core import lakehouse
from envmon.core.config import load_yaml
from envmon.core.errors import ConfigError, EnvmonError
from envmon.core.locks import dataset_lock

if TYPE_CHECKING:
    import duckdb

CONFIG_FILE = "lakehouse.yaml"
LOCK = "lakehouse.upkeep"
# Where DuckLake keeps the attached catalog's own tables.
METADATA = f"__ducklake_metadata_{lakehouse.ALIAS}"


@dataclass(frozen=True)
class Retention:
    keep_days: float  # snapshots younger than this stay (time travel, rollback)
    grace_hours: float  # files freed longer ago than this are deleted


@dataclass(frozen=True)
class Upkeep:
    files_before: int  # live data files before the merge
    files_after: int
    snapshots_expired: int
    files_deleted: int
    retention: Retention

    def summary(self) -> str:
        return (f"data files: {self.files_before:,} -> {self.files_after:,} (merged); "
                f"snapshots expired: {self.snapshots_expired:,} (older than "
                f"{self.retention.keep_days:g} days); files deleted: {self.files_deleted:,} "
                f"(freed more than {self.retention.grace_hours:g} hours ago)")


def retention(overrides: dict[str, Any] | None = None) -> Retention:
    """config/lakehouse.yaml's `upkeep`, with `overrides` (None values ignored)."""
    raw = load_yaml(CONFIG_FILE, what="lakehouse configuration").get("upkeep") or {}
    raw |= {k: v for k, v in (overrides or {}).items() if v is not None}
    values = {}
    for key in ("keep_days", "grace_hours"):
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{CONFIG_FILE}: upkeep.{key} must be a number >= 0, "
                              f"not {value!r}")
        values[key] = float(value)
    return Retention(**values)


def compact(policy: Retention, *, now: datetime | None = None) -> Upkeep:
    """Merge, expire and delete on the configured lakehouse; see the module doc."""
    if not lakehouse.active():
        raise EnvmonError("upkeep is for the lakehouse (ENVMON_STORAGE=lakehouse); the "
                          "files layout rewrites each part file whole on every load")
    now = now or datetime.now(UTC)
    with dataset_lock(LOCK):
        con = lakehouse.session()
        before = live_files(con)
        _call(con, "ducklake_merge_adjacent_files", "")
        after = live_files(con)
        expired = _call(con, "ducklake_expire_snapshots",
                        f"older_than => {_timestamp(now - timedelta(days=policy.keep_days))}")
        deleted = _call(con, "ducklake_cleanup_old_files",
                        f"older_than => {_timestamp(now - timedelta(hours=policy.grace_hours))}")
    return Upkeep(before, after, expired, deleted, policy)


def live_files(con: duckdb.DuckDBPyConnection) -> int:
    """Data files the latest snapshot reads, over every table."""
    return con.execute(f"SELECT count(*) FROM {METADATA}.ducklake_data_file "
                       "WHERE end_snapshot IS NULL").fetchall()[0][0]


def _call(con: duckdb.DuckDBPyConnection, function: str, arguments: str) -> int:
    """CALL a DuckLake maintenance function as one transaction; rows it returned."""
    args = f"'{lakehouse.ALIAS}'" + (f", {arguments}" if arguments else "")
    rows, _ = lakehouse.transact(con, lambda c: c.execute(f"CALL {function}({args})").fetchall())
    return len(rows)


def _timestamp(at: datetime) -> str:
    return f"TIMESTAMPTZ '{at.astimezone(UTC).isoformat()}'"


def upkeep_task() -> dict:
    """The lakehouse_upkeep DAG's task: compact with the configured retention.
    On the files storage there is nothing to merge, and it says so."""
    if not lakehouse.active():
        return {"storage": "files", "done": "nothing: the files layout needs no upkeep"}
    return {"storage": "lakehouse", **asdict(compact(retention()))}
