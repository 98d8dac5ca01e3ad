"""The lake: partitioned Parquet, the source of truth.

Layout: lake/<dataset>/<partition_col>=<value>/<part>.parquet. One part file
per source (or producer) per partition, so sources never overwrite each
other. Writes are upserts by key inside the part: a newer delivery replaces
the rows it carries, rows it does not carry stay, and the same delivery
twice leaves the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

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


def read_part(path: Path, schema: pa.Schema) -> pd.DataFrame:
    if not path.exists():
        return _empty(schema)
    return pq.read_table(path, schema=schema).to_pandas()


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
    touched: list[str] = []
    if frame.empty:
        return touched
    values = frame[partition_col].astype(str)
    with dataset_lock(dataset):
        for value, rows in frame.groupby(values, sort=True):
            path = partition_path(dataset, partition_col, str(value), part)
            merged = _merge(read_part(path, schema), rows, keys)
            table = pa.Table.from_pandas(merged[schema.names], schema=schema,
                                         preserve_index=False)
            write_atomic(path, lambda tmp, t=table: pq.write_table(t, tmp, compression="zstd"))
            touched.append(str(value))
    return touched


def replace_partition(dataset: str, frame: pd.DataFrame, *, partition_col: str, value: str,
                      part: str, schema: pa.Schema) -> Path:
    """Write a derived partition whole (marts recomputed from the lake)."""
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
    directory = home().dataset(dataset) / f"{partition_col}={value}"
    parts = sorted(p for p in directory.glob("*.parquet")) if directory.exists() else []
    frames = [pq.read_table(p, schema=schema).to_pandas().assign(_part=p.stem) for p in parts]
    if not frames:
        return _empty(schema).assign(_part=pd.Series(dtype="str"))
    return pd.concat(frames, ignore_index=True)


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
