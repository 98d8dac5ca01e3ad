"""Roll back one delivery on the lakehouse: undo what its commit changed.

On the lakehouse a run's lake rows, marts, quarantine and ledger row are one
commit, one DuckLake snapshot (envmon.core.ingest._store). Rolling the run
back reads that snapshot's changes (`table_changes`) and, in one new
transaction, deletes the rows it inserted and puts back the rows it deleted
(the values they had, from the same changes), in every table but the ledger,
whose row stays with status `rolled_back`: the bytes are no longer counted
as loaded, so loading them again (or a corrected file) works as for new ones.

A later commit that replaced or removed rows this run inserted (a correction
of the same hours, the marts of the same day recomputed) depends on them:
undoing the run under it would leave a mix, so the rollback is refused and
names those runs, to be rolled back first, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from envmon.core import lakehouse
from envmon.core.errors import EnvmonError
from envmon.core.landing import LANDING_TABLE
from envmon.core.ledger import RUNS_TABLE

# Not undone: the claims are envmon's bookkeeping, the ledger keeps the run's
# row (marked), and landing keeps every byte received.
_KEPT = (lakehouse.CLAIMS, RUNS_TABLE, LANDING_TABLE)
ROLLED_BACK = "rolled_back"


@dataclass
class RollbackResult:
    run_id: str
    dataset: str
    snapshot: int
    # table -> (rows removed, rows put back)
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)

    def summary(self) -> str:
        changed = ", ".join(f"{t}: -{r} +{b}" for t, (r, b) in sorted(self.tables.items()))
        return (f"run {self.run_id} ({self.dataset}, snapshot {self.snapshot}) rolled back: "
                f"{changed or 'no rows'}")


def rollback(run_id: str) -> RollbackResult:
    """Undo run `run_id`'s commit; EnvmonError if it cannot be undone alone."""
    if not lakehouse.active():
        raise EnvmonError("rollback works on the lakehouse only (ENVMON_STORAGE=lakehouse)")
    dataset = _run_dataset(run_id)
    return lakehouse.run(lambda: _rollback(run_id, dataset), claims=[dataset])


def _run_dataset(run_id: str) -> str:
    rows = _con().execute(f"SELECT dataset, status FROM {_t(RUNS_TABLE)} WHERE run_id = ?",
                          [run_id]).fetchall()
    if not rows:
        raise EnvmonError(f"no run {run_id} in the ledger")
    dataset, status = rows[0]
    if status == ROLLED_BACK:
        raise EnvmonError(f"run {run_id} is already rolled back")
    if status not in ("ok", "incomplete"):
        raise EnvmonError(f"run {run_id} is {status}: it loaded nothing to roll back")
    return dataset


def _rollback(run_id: str, dataset: str) -> RollbackResult:
    con = _con()
    latest = con.execute(f"SELECT max(snapshot_id) FROM {lakehouse.ALIAS}.snapshots()"
                         ).fetchall()[0][0]
    snapshot = con.execute(
        f"SELECT snapshot_id FROM {lakehouse.ALIAS}.table_changes('{RUNS_TABLE}', 0, ?) "
        "WHERE run_id = ? AND change_type = 'insert'", [latest, run_id]).fetchall()[0][0]
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY table_name",
        [lakehouse.ALIAS]).fetchall() if t not in _KEPT and _existed(t, snapshot)]
    blockers: set[int] = set()
    for table in tables:
        if snapshot < latest:
            blockers |= _later_changes(table, snapshot, latest)
    if blockers:
        raise EnvmonError(
            f"run {run_id} cannot be rolled back alone: later runs changed rows it wrote "
            f"({', '.join(_runs_of(sorted(blockers)))}); roll those back first, newest first")
    result = RollbackResult(run_id, dataset, snapshot)
    for table in tables:
        changes = _changes(table, snapshot, snapshot)
        removed = con.execute(
            f"DELETE FROM {_t(table)} WHERE rowid IN (SELECT rowid FROM {changes} "
            "WHERE change_type = 'insert')").fetchall()[0][0]
        restored = con.execute(
            f"INSERT INTO {_t(table)} BY NAME SELECT * EXCLUDE (snapshot_id, rowid, change_type) "
            f"FROM {changes} WHERE change_type = 'delete'").fetchall()[0][0]
        if removed or restored:
            result.tables[table] = (int(removed), int(restored))
    note = f"rolled back {datetime.now(UTC).isoformat(timespec='seconds')} (snapshot {snapshot})"
    con.execute(f"UPDATE {_t(RUNS_TABLE)} SET status = ?, message = concat_ws('; ', "
                "nullif(message, ''), ?) WHERE run_id = ?", [ROLLED_BACK, note, run_id])
    return result


def _existed(table: str, snapshot: int) -> bool:
    """Whether `table` existed at `snapshot` (tables created later have no changes there)."""
    import duckdb

    try:
        _con().execute(f"SELECT count(*) FROM {_changes(table, snapshot, snapshot)}").fetchall()
    except duckdb.Error:
        return False
    return True


def _later_changes(table: str, snapshot: int, latest: int) -> set[int]:
    """Snapshots after `snapshot` that deleted rows `snapshot` inserted into `table`."""
    inserted = f"(SELECT rowid FROM {_changes(table, snapshot, snapshot)} " \
               "WHERE change_type = 'insert')"
    rows = _con().execute(
        f"SELECT DISTINCT snapshot_id FROM {_changes(table, snapshot + 1, latest)} "
        f"WHERE change_type IN ('delete', 'update_preimage') AND rowid IN {inserted}"
    ).fetchall()
    return {int(s) for (s,) in rows}


def _runs_of(snapshots: list[int]) -> list[str]:
    names = []
    for snapshot in snapshots:
        runs = _con().execute(
            f"SELECT run_id FROM {_changes(RUNS_TABLE, snapshot, snapshot)} "
            "WHERE change_type = 'insert' ORDER BY run_id").fetchall()
        names.append(" ".join(r for (r,) in runs) or f"snapshot {snapshot}")
    return names


def _changes(table: str, first: int, last: int) -> str:
    return (f"{lakehouse.ALIAS}.table_changes('{table.replace(chr(39), chr(39) * 2)}', "
            f"{int(first)}, {int(last)})")


def _t(table: str) -> str:
    return f'{lakehouse.ALIAS}."{table}"'


def _con():  # -> duckdb.DuckDBPyConnection
    return lakehouse.current()
