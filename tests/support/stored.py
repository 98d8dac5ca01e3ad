"""What a test reads back of envmon's storage, whichever ENVMON_STORAGE keeps it.

On files a lake dataset is lake/<dataset>/<col>=<value>/<part>.parquet and the
quarantine one Parquet file per delivery; on the lakehouse both are DuckLake
tables and the warehouse's views need the lakehouse attached. Tests that check
what was stored read it through here and pass on either storage (the suite
runs on both, .ci/run); a test of one layout's own guarantees (atomic renames,
flock) says which storage it needs.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from envmon.core import lake, lake_tables, lakehouse
from envmon.core.quarantine import QUARANTINE_SCHEMA, QUARANTINE_TABLE
from envmon.core.settings import home


def on_lakehouse() -> bool:
    return lakehouse.active()


@contextmanager
def at(root: Path) -> Iterator[None]:
    """Read the ENVMON_HOME at `root` (one a child process wrote) inside the block."""
    before = os.environ.get("ENVMON_HOME")
    os.environ["ENVMON_HOME"] = str(root)
    try:
        yield
    finally:
        if before is None:
            del os.environ["ENVMON_HOME"]
        else:
            os.environ["ENVMON_HOME"] = before


def partition_col(dataset: str) -> str:
    """The column a dataset is partitioned by: its schema's last (envmon.domains)."""
    from envmon import domains

    return domains.lake_tables()[dataset]().names[-1]


def lake_rows(dataset: str) -> pd.DataFrame:
    """Every stored row of a lake dataset (empty frame: none), with `_partition`
    ("date=2026-10-01") and `_part` (the source, or source and run, that wrote it)."""
    from envmon import domains

    col = partition_col(dataset)
    schema = domains.lake_tables()[dataset]()
    if on_lakehouse():
        values = lake.partition_values(dataset, col)
        frames = [frame.assign(_partition=f"{col}={value}")
                  for value, frame in lake.read_partitions(dataset, col, values, schema)]
    else:
        files = sorted(home().dataset(dataset).glob("*/*.parquet"))
        frames = [pq.read_table(f).to_pandas().assign(_partition=f.parent.name, _part=f.stem)
                  for f in files]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` in the order of all its columns: for comparing what two reads
    stored, where the order of rows within a part is the storage's own."""
    return frame.sort_values(list(frame.columns), na_position="last", ignore_index=True)


def quarantine_rows() -> pd.DataFrame:
    """Every quarantined row (QUARANTINE_SCHEMA's columns), in no set order."""
    return _unpartitioned(QUARANTINE_TABLE, home().quarantine, QUARANTINE_SCHEMA)


def ledger_rows() -> pd.DataFrame:
    """Every run the ledger recorded (LEDGER_SCHEMA's columns), oldest first."""
    from envmon.core.ledger import LEDGER_SCHEMA, RUNS_TABLE

    frame = _unpartitioned(RUNS_TABLE, home().ledger / "runs", LEDGER_SCHEMA)
    return frame.sort_values(["started_at", "run_id"], kind="stable").reset_index(drop=True)


def _unpartitioned(table: str, directory: Path, schema: pa.Schema) -> pd.DataFrame:
    """An unpartitioned table's rows: the lakehouse table, or every Parquet file under
    `directory` on files; `schema`'s columns, empty when nothing is stored."""
    if on_lakehouse():
        if not lake_tables.columns(table):
            return schema.empty_table().to_pandas()
        return lakehouse.session().execute(
            f"SELECT * FROM {lake_tables.table_name(table)}").df()[schema.names]
    files = sorted(directory.rglob("*.parquet"))
    if not files:
        return schema.empty_table().to_pandas()
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def run_row(run_id: str) -> dict:
    """The ledger's record of one run, as a dict."""
    [row] = ledger_rows().query("run_id == @run_id").to_dict("records")
    return row


def lake_state(exclude: Collection[str] = ()) -> dict[str, object]:
    """What changes whenever the lake's data is written, but for the datasets
    in `exclude`: each Parquet file's bytes on files; each table's live data
    and delete files on the lakehouse."""
    if not on_lakehouse():
        root = home().lake
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))
                if p.relative_to(root).parts[0] not in exclude}
    from envmon import domains

    con = lakehouse.session()
    return {dataset: sorted(con.execute(
                "SELECT data_file, delete_file FROM ducklake_list_files(?, ?)",
                [lakehouse.ALIAS, dataset]).fetchall(), key=str)
            for dataset in domains.lake_tables()
            if dataset not in exclude and lake_tables.columns(dataset)}


def open_warehouse(path: Path | str | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse at `path` (default: ENVMON_HOME's) read-only, its views
    readable as an analyst opens it: on the embedded lakehouse, the catalog of
    the home the warehouse file sits in is attached too."""
    path = Path(path) if path is not None else home().warehouse
    con = duckdb.connect(str(path), read_only=True)
    if on_lakehouse():
        shared = bool(os.environ.get("ENVMON_LAKEHOUSE_CATALOG", "").strip())
        config = lakehouse.settings() if shared else lakehouse.embedded(path.parent)
        try:
            lakehouse.attach(con, config, read_only=True)
        except BaseException:
            con.close()
            raise
    return con


@contextmanager
def warehouse(path: Path | str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """open_warehouse, closed on leaving."""
    con = open_warehouse(path)
    try:
        yield con
    finally:
        con.close()


def query(sql: str, params: list | None = None, path: Path | str | None = None) -> list[tuple]:
    """The rows of one query against the warehouse's views."""
    with warehouse(path) as con:
        return con.execute(sql, params or []).fetchall()
