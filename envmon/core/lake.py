"""The lake: partitioned Parquet, the source of truth.

Layout: lake/<dataset>/<partition_col>=<value>/<part>.parquet. One part file
per source (or producer) per partition, so sources never overwrite each
other. Writes are upserts by key inside the part: a newer delivery replaces
the rows it carries, rows it does not carry stay, and the same delivery
twice leaves the same file.

With ENVMON_STORAGE=lakehouse the same functions work on DuckLake tables
(envmon.core.lake_tables): one table per dataset, the part a column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from envmon.core import lake_tables, lakehouse
from envmon.core.atomic import write_atomic
from envmon.core.locks import dataset_lock
from envmon.core.names import checked, checked_component
from envmon.core.settings import home


def partition_path(dataset: str, partition_col: str, value: str, part: str) -> Path:
    # The value comes from the data (a day, a province) and the part from a
    # source name: both must stay one component inside the dataset.
    directory = f"{checked(partition_col, 'partition column')}={value}"
    return (home().dataset(checked(dataset, "dataset")) / checked_component(directory, "partition")
            / f"{checked_component(part, 'lake part')}.parquet")


def read_part(dataset: str, partition_col: str, value: str, part: str, schema: pa.Schema
              ) -> pd.DataFrame:
    """The rows one part holds in one partition (empty if none)."""
    if lakehouse.active():
        return lake_tables.read(dataset, partition_col, value, schema, part=part)
    path = partition_path(dataset, partition_col, value, part)
    if not path.exists():
        return _empty(schema)
    return pq.read_table(path, schema=schema).to_pandas()


def partition_values(dataset: str, partition_col: str, prefix: str = "") -> list[str]:
    """The dataset's partitions that hold rows, sorted; only those starting with `prefix`."""
    if lakehouse.active():
        return lake_tables.partition_values(dataset, partition_col, prefix)
    root = home().dataset(checked(dataset, "dataset"))
    return sorted(p.name.split("=", 1)[1] for p in root.glob(f"{partition_col}={prefix}*")
                  if p.is_dir() and any(p.glob("*.parquet")))


def upsert_partitions(
    dataset: str,
    frame: pd.DataFrame,
    *,
    partition_col: str,
    part: str,
    keys: Sequence[str],
    schema: pa.Schema,
) -> list[str]:
    """Merge `frame` into its partitions; returns the partition values touched.

    `schema` lists the stored columns (the partition column is not stored in
    the file: it lives in the directory name). Each partition file is
    rewritten whole through a temporary file and a rename, under a dataset
    lock, so concurrent loads serialise and readers never see half a file.
    """
    if lakehouse.active():
        return lake_tables.upsert(dataset, frame, partition_col=partition_col, part=part,
                                  keys=keys, schema=schema)
    touched: list[str] = []
    if frame.empty:
        return touched
    values = frame[partition_col].astype(str)
    with dataset_lock(dataset):
        for value, rows in frame.groupby(values, sort=True):
            path = partition_path(dataset, partition_col, str(value), part)
            merged = _merge(read_part(dataset, partition_col, str(value), part, schema), rows,
                            keys)
            table = pa.Table.from_pandas(merged[schema.names], schema=schema,
                                         preserve_index=False)
            write_atomic(path, lambda tmp, t=table: pq.write_table(t, tmp, compression="zstd"))
            touched.append(str(value))
    return touched


def replace_partition(dataset: str, frame: pd.DataFrame, *, partition_col: str, value: str,
                      part: str, schema: pa.Schema) -> Path | None:
    """Write a derived partition whole (marts recomputed from the lake)."""
    if lakehouse.active():
        lake_tables.replace(dataset, frame, partition_col=partition_col, value=value, part=part,
                            schema=schema)
        return None
    path = partition_path(dataset, partition_col, value, part)
    with dataset_lock(dataset):
        if frame.empty:
            path.unlink(missing_ok=True)
            return path
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
        write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    return path


def read_partition(dataset: str, partition_col: str, value: str, schema: pa.Schema
                   ) -> pd.DataFrame:
    """Every part of one partition, concatenated (all sources)."""
    if lakehouse.active():
        return lake_tables.read(dataset, partition_col, value, schema)
    directory = home().dataset(dataset) / f"{partition_col}={value}"
    parts = sorted(p for p in directory.glob("*.parquet")) if directory.exists() else []
    frames = [pq.read_table(p, schema=schema).to_pandas().assign(_part=p.stem) for p in parts]
    if not frames:
        return _empty(schema).assign(_part=pd.Series(dtype="str"))
    return pd.concat(frames, ignore_index=True)


def read_partitions(dataset: str, partition_col: str, values: Iterable[str], schema: pa.Schema
                    ) -> Iterator[tuple[str, pd.DataFrame]]:
    """(value, read_partition of it) for each of `values`, in sorted order.

    On the lakehouse a few weeks of partitions are read per statement: a
    statement there costs catalog round trips whatever its size, and a load's
    marts read every day it touched."""
    ordered = sorted(set(values))
    if not lakehouse.active():
        for value in ordered:
            yield value, read_partition(dataset, partition_col, value, schema)
        return
    for start in range(0, len(ordered), _PARTITIONS_PER_READ):
        chunk = ordered[start:start + _PARTITIONS_PER_READ]
        yield from lake_tables.read_many(dataset, partition_col, chunk, schema).items()


# Partitions per lakehouse read: a month of days, so memory stays near what
# the load itself held.
_PARTITIONS_PER_READ = 31


def read_all(dataset: str, partition_col: str, schema: pa.Schema, *,
             columns: Sequence[str] | None = None,
             row_filter: pc.Expression | None = None) -> pa.Table:
    """Every part of a dataset (the `columns` of `schema`, rows of `row_filter`),
    with its partition column as text, a part at a time so memory holds what
    the filter keeps; in partition and part order."""
    names = list(columns or schema.names)
    if lakehouse.active():
        return lake_tables.read_all(dataset, partition_col, schema, names, row_filter)
    tables = []
    for path in sorted(home().dataset(checked(dataset, "dataset")).glob("*/*.parquet")):
        table = pq.read_table(path, columns=names, schema=schema)
        if row_filter is not None:
            table = table.filter(row_filter)
        value = path.parent.name.split("=", 1)[1]
        tables.append(table.append_column(partition_col,
                                          pa.array([value] * table.num_rows, pa.string())))
    if not tables:
        fields = [schema.field(n) for n in names] + [pa.field(partition_col, pa.string())]
        return pa.schema(fields).empty_table()
    return pa.concat_tables(tables)


def row_count(dataset: str) -> int:
    """Rows stored in the dataset, every partition and part."""
    if lakehouse.active():
        return lake_tables.row_count(dataset)
    return sum(pq.read_metadata(path).num_rows
               for path in home().dataset(checked(dataset, "dataset")).glob("*/*.parquet"))


def parts(dataset: str, partition_col: str) -> set[tuple[str, str]]:
    """(partition value, part) of every part that holds rows."""
    if lakehouse.active():
        return lake_tables.parts(dataset, partition_col)
    return {(path.parent.name.split("=", 1)[1], path.stem)
            for path in home().dataset(checked(dataset, "dataset")).glob(
                f"{partition_col}=*/*.parquet")}


def _merge(existing: pd.DataFrame, new: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    if existing.empty:
        merged = new
    else:
        new_keys = pd.MultiIndex.from_frame(new[list(keys)])
        old_keys = pd.MultiIndex.from_frame(existing[list(keys)])
        merged = pd.concat([existing[~old_keys.isin(new_keys)], new], ignore_index=True)
    return merged.sort_values(list(keys), kind="stable").reset_index(drop=True)


def _empty(schema: pa.Schema) -> pd.DataFrame:
    return schema.empty_table().to_pandas()
