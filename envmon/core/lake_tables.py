"""The lake's datasets as DuckLake tables (ENVMON_STORAGE=lakehouse).

The same operations as the Parquet layout of envmon.core.lake, on one table
per dataset: the partition column is a column (and DuckLake's partition key,
so a day's files are found without a scan), and `_part` names the source or
producer that wrote a row, as the part file's name does on disk. Every call
works through `lakehouse.current()`, so inside `lakehouse.run` it is part
of that transaction; outside one it runs as its own.

The partition column is DATE when its values are days (as DuckDB's hive
partitioning types `date=2026-01-01` directories), else VARCHAR.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from envmon.core import lakehouse
from envmon.core.names import checked

if TYPE_CHECKING:
    import duckdb

PART = "_part"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def table_name(dataset: str) -> str:
    return f'{lakehouse.ALIAS}."{checked(dataset, "dataset")}"'


def ensure_table(dataset: str, schema: pa.Schema, *, partitioned_by: str | None = None,
                 inline: bool = True) -> None:
    """Create the table from an Arrow schema (all its columns) if it is missing.

    `inline=False`: small inserts go to data files too, not into the catalog
    (DuckLake inlines up to 10 rows there by default; raw deliveries of a
    few megabytes each do not belong in PostgreSQL). DuckLake sets a table's
    options only once the table is committed, so such a table is created in
    a transaction of its own, outside any `lakehouse.run`.
    """
    if not inline:
        if _exists(dataset):
            return
        lakehouse.run(lambda: ensure_table(dataset, schema))
        lakehouse.run(lambda: lakehouse.current().execute(
            f"CALL {lakehouse.ALIAS}.set_option('data_inlining_row_limit', 0, "
            "table_name => ?)", [dataset]))
        return
    con = lakehouse.current()
    if _exists(dataset):
        return
    with _registered(con, schema.empty_table()) as name:
        con.execute(f"CREATE TABLE IF NOT EXISTS {table_name(dataset)} AS SELECT * FROM {name}")
    if partitioned_by:
        con.execute(f'ALTER TABLE {table_name(dataset)} SET PARTITIONED BY ("{partitioned_by}")')



def upsert(dataset: str, frame: pd.DataFrame, *, partition_col: str, part: str,
           keys: Sequence[str], schema: pa.Schema) -> list[str]:
    """Replace the rows of `part` with the keys `frame` carries, per partition; add the rest."""
    if frame.empty:
        return []
    values = frame[partition_col].astype(str)

    def work() -> list[str]:
        _flush(dataset)
        incoming = _stored(dataset, frame.assign(**{partition_col: values}), partition_col,
                           part, schema)
        con = lakehouse.current()
        touched = sorted(set(values))
        # The partitions as constants, so DuckLake reads only their files (a
        # join alone scans the whole table, and a backfill grows quadratic).
        within = f'IN ({", ".join("?" for _ in touched)})'
        params = [part, *touched]
        with _registered(con, incoming) as name:
            held = con.execute(f'SELECT count(*) FROM {table_name(dataset)} WHERE {PART} = ? '
                               f'AND "{partition_col}" {within}', params).fetchall()[0][0]
            if held:
                on = " AND ".join(f't."{k}" = i."{k}"' for k in keys)
                con.execute(f"DELETE FROM {table_name(dataset)} AS t USING {name} AS i "
                            f'WHERE t.{PART} = ? AND t."{partition_col}" {within} '
                            f'AND t."{partition_col}" = i."{partition_col}" AND {on}', params)
            con.execute(f"INSERT INTO {table_name(dataset)} BY NAME SELECT * FROM {name}")
        return touched

    return lakehouse.run(work, claims=[dataset])


def replace(dataset: str, frame: pd.DataFrame, *, partition_col: str, value: str, part: str,
            schema: pa.Schema) -> None:
    """Make `frame` the whole of `part` in one partition (empty: remove it).

    Kept until the transaction commits (or reads the table), then written with
    the other partitions replaced meanwhile in one DELETE and one INSERT: a
    load's marts replace a partition per day, and a statement on DuckLake costs
    catalog round trips whatever its size.
    """
    def work() -> None:
        incoming = None if frame.empty else _stored(
            dataset, frame.assign(**{partition_col: value}), partition_col, part, schema)
        _pending()["replace"].setdefault((dataset, partition_col, part), {})[value] = incoming

    lakehouse.run(work, claims=[dataset])


def append(name: str, table: pa.Table) -> None:
    """Add rows to an unpartitioned table (ledger, quarantine), creating it on first use."""
    def work() -> None:
        ensure_table(name, table.schema)
        if len(table):
            _pending()["append"].setdefault(name, []).append(table)

    lakehouse.run(work)


def rewrite(name: str, table: pa.Table, **equal: str) -> None:
    """Make `table` the rows of `name` whose columns equal the values given
    (all its rows when none are given): one DELETE and one INSERT, in the
    transaction of `lakehouse.run`; creates the table on first use."""
    def work() -> None:
        ensure_table(name, table.schema)
        _flush(name)
        con = lakehouse.current()
        where = " AND ".join(f'"{c}" = ?' for c in equal) or "true"
        con.execute(f"DELETE FROM {table_name(name)} WHERE {where}", list(equal.values()))
        if len(table):
            with _registered(con, table) as rows:
                con.execute(f"INSERT INTO {table_name(name)} BY NAME SELECT * FROM {rows}")

    lakehouse.run(work, claims=[name])


def delete(name: str, **equal: str) -> None:
    """Remove the rows whose columns equal the values given (nothing if no table).

    Kept with the table's pending writes: deletions run before the appends
    at the flush, so rows appended earlier that this would remove are
    written out first."""
    def work() -> None:
        if not _exists(name):
            return
        pending = _pending()
        if any(_matches(t, equal) for t in pending["append"].get(name, [])):
            _flush(name)
        pending["delete"].setdefault((name, tuple(equal)), []).append(tuple(equal.values()))

    lakehouse.run(work)


def select(name: str, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    """Rows of `sql`, where `{table}` names the table; none if it does not exist yet."""
    result = _query(name, sql, params)
    return [] if result is None else result.fetchall()


def select_arrow(name: str, sql: str, params: Sequence[object] = ()) -> pa.Table | None:
    """`select`'s rows as an Arrow table; None if the table does not exist yet."""
    result = _query(name, sql, params)
    return None if result is None else result.arrow().read_all()


def _query(name: str, sql: str, params: Sequence[object]) -> duckdb.DuckDBPyConnection | None:
    """`sql` run on the table's pending writes flushed; None if it does not exist yet."""
    if not _exists(name):
        return None
    _flush(name)
    return lakehouse.current().execute(sql.format(table=table_name(name)), list(params))


def read(dataset: str, partition_col: str, value: str, schema: pa.Schema, *,
         part: str | None = None) -> pd.DataFrame:
    """One partition's rows (of one part, or of all with their `_part`), in `schema`."""
    if part is None:
        return read_many(dataset, partition_col, [value], schema)[value]
    con = lakehouse.current()
    _flush(dataset)
    if not _exists(dataset):
        return _typed(None, schema, with_part=False)
    quoted = ", ".join(f'"{c}"' for c in schema.names)
    table = con.execute(f"SELECT {quoted} FROM {table_name(dataset)} "
                        f'WHERE "{partition_col}" = ? AND {PART} = ?',
                        [value, part]).arrow().read_all()
    return _typed(table, schema, with_part=False)


def read_many(dataset: str, partition_col: str, values: Sequence[str], schema: pa.Schema
              ) -> dict[str, pd.DataFrame]:
    """`read` of each of `values` (all parts), from one statement."""
    con = lakehouse.current()
    _flush(dataset)
    if not values or not _exists(dataset):
        return {v: _typed(None, schema, with_part=True) for v in values}
    quoted = ", ".join(f'"{c}"' for c in [*schema.names, PART])
    within = ", ".join("?" for _ in values)
    table = con.execute(
        f'SELECT {quoted}, CAST("{partition_col}" AS VARCHAR) AS _value '
        f'FROM {table_name(dataset)} WHERE "{partition_col}" IN ({within}) '
        f"ORDER BY _value, {PART}", list(values)).arrow().read_all()
    return {v: _typed(table.filter(pc.equal(table["_value"], v)), schema, with_part=True)
            for v in values}


def read_all(dataset: str, partition_col: str, schema: pa.Schema, columns: Sequence[str],
             row_filter: pc.Expression | None) -> pa.Table:
    """The dataset's `columns` with the partition column as text, filtered
    batch by batch as DuckDB streams them; in partition, part and row order."""
    fields = [schema.field(n) for n in columns] + [pa.field(partition_col, pa.string())]
    target = pa.schema(fields)
    con = lakehouse.current()
    _flush(dataset)
    if not _exists(dataset):
        return target.empty_table()
    quoted = ", ".join(f'"{c}"' for c in columns)
    reader = con.execute(
        f'SELECT {quoted}, CAST("{partition_col}" AS VARCHAR) AS "{partition_col}" '
        f'FROM {table_name(dataset)} ORDER BY "{partition_col}", {PART}, rowid').arrow()
    batches = []
    for batch in reader:
        table = pa.Table.from_batches([batch]).cast(target)
        batches.append(table.filter(row_filter) if row_filter is not None else table)
    return pa.concat_tables(batches) if batches else target.empty_table()


def row_count(dataset: str) -> int:
    rows = select(dataset, "SELECT count(*) FROM {table}")
    return int(rows[0][0]) if rows else 0


def parts(dataset: str, partition_col: str) -> set[tuple[str, str]]:
    return {(v, p) for v, p in select(
        dataset, f'SELECT DISTINCT CAST("{partition_col}" AS VARCHAR), {PART} FROM {{table}}')}


def partition_values(dataset: str, partition_col: str, prefix: str = "") -> list[str]:
    """The partition values holding rows, as text, sorted; only those starting with `prefix`."""
    return [v for (v,) in select(
        dataset, f'SELECT DISTINCT CAST("{partition_col}" AS VARCHAR) AS v FROM {{table}} '
        "WHERE starts_with(v, ?) ORDER BY v", [prefix])]


def _stored(dataset: str, frame: pd.DataFrame, partition_col: str, part: str,
            schema: pa.Schema) -> pa.Table:
    """The rows as the table holds them; creates the table on first use."""
    values = frame[partition_col].astype(str)
    day = bool(len(values)) and all(_DAY.match(v) for v in values.unique())
    partition_type = pa.date32() if day else pa.string()
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    partition = pa.array(values, pa.string())
    if day:
        partition = partition.cast(pa.timestamp("s")).cast(pa.date32())
    table = table.append_column(pa.field(partition_col, partition_type), partition)
    table = table.append_column(PART, pa.array([part] * len(table), pa.string()))
    ensure_table(dataset, table.schema, partitioned_by=partition_col)
    return table


def _typed(table: pa.Table | None, schema: pa.Schema, *, with_part: bool) -> pd.DataFrame:
    fields = list(schema) + ([pa.field(PART, pa.string())] if with_part else [])
    if table is None:
        return pa.schema(fields).empty_table().to_pandas()
    return table.select([f.name for f in fields]).cast(pa.schema(fields)).to_pandas()


def _pending() -> dict:
    """This transaction's pending writes (replace, append, delete), flushed before commit."""
    state = lakehouse.transaction_state()
    if state is None:
        raise RuntimeError("lake_tables writes run inside lakehouse.run")
    if "lake_tables" not in state:
        state["lake_tables"] = {"replace": {}, "append": {}, "delete": {}}
        lakehouse.before_commit(_flush_all)
    return state["lake_tables"]


def _flush_all() -> None:
    pending = _pending()
    names = ({n for n, _ in pending["delete"]} | {d for d, _, _ in pending["replace"]}
             | set(pending["append"]))
    for name in sorted(names):
        _flush(name)


def _flush(name: str) -> None:
    """Write `name`'s pending deletions, replaced partitions and appends, in that order."""
    state = lakehouse.transaction_state()
    if state is None or "lake_tables" not in state:
        return
    pending = state["lake_tables"]
    con = lakehouse.current()
    for key in [k for k in pending["delete"] if k[0] == name]:
        columns, rows = key[1], pending["delete"].pop(key)
        keys = pa.table({c: pa.array([r[i] for r in rows], pa.string())
                         for i, c in enumerate(columns)})
        on = " AND ".join(f't."{c}" = k."{c}"' for c in columns)
        with _registered(con, keys) as k:
            con.execute(f"DELETE FROM {table_name(name)} AS t USING {k} AS k WHERE {on}")
    inserts = []
    for key in [k for k in pending["replace"] if k[0] == name]:
        _, partition_col, part = key
        by_value = pending["replace"].pop(key)
        if _exists(name):
            within = ", ".join("?" for _ in by_value)
            con.execute(f'DELETE FROM {table_name(name)} WHERE {PART} = ? '
                        f'AND "{partition_col}" IN ({within})', [part, *by_value])
        inserts += [t for t in by_value.values() if t is not None]
    inserts += pending["append"].pop(name, [])
    if inserts:
        with _registered(con, pa.concat_tables(inserts, promote_options="none")) as rows:
            con.execute(f"INSERT INTO {table_name(name)} BY NAME SELECT * FROM {rows}")


def _matches(table: pa.Table, equal: dict[str, str]) -> bool:
    """Whether a row of `table` has every column equal to the value given."""
    mask = None
    for column, value in equal.items():
        hit = pc.equal(table[column], value)
        mask = hit if mask is None else pc.and_(mask, hit)
    return bool(mask is not None and pc.any(mask).as_py())


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, table: pa.Table) -> Iterator[str]:
    """`table` under a name SQL on `con` can read, for the statement's time."""
    name = "_envmon_rows"
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


def columns(name: str) -> list[str]:
    """The table's columns, in order; empty if it does not exist yet."""
    # fetchall, never fetchone: a result left unread keeps its transaction
    # open, and on the embedded catalog an open transaction holds SQLite's
    # lock that every other writer's commit waits for.
    rows = lakehouse.current().execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
        "ORDER BY column_index", [lakehouse.ALIAS, name]).fetchall()
    return [c for (c,) in rows]


def _exists(name: str) -> bool:
    """Whether the table exists; a table seen once is remembered for the
    rest of the transaction (a load asks hundreds of times, and each catalog
    lookup costs a few milliseconds), never across transactions."""
    state = lakehouse.transaction_state()
    seen = state.setdefault("tables", set()) if state is not None else set()
    if name in seen:
        return True
    if columns(name):
        seen.add(name)
        return True
    return False
