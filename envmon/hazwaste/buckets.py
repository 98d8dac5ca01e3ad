"""Buckets of manifest numbers, and the lake's datasets read a bucket at a
time. Everything about a manifest number depends on that number alone, so
the refresh (derive.py) holds one bucket in memory at a time; this module
says which numbers a bucket holds, how many buckets the stored versions call
for, and reads a dataset's part files filtered to one bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from envmon.core import lake
from envmon.hazwaste import schema

KEY = ["manifest_no", "version"]
# Buckets go by the last digits of the number (the serial's): uniform over the
# numbers of any province and year, and independent of what is stored, so a
# bucket's part holds the same numbers from one refresh to the next.
_SUFFIX = 3


@dataclass(frozen=True)
class Bucket:
    """Manifest numbers whose last _SUFFIX digits are `number` modulo `count`;
    bucket 0 also takes every number that does not end in digits."""

    number: int
    count: int

    def _suffixes(self) -> tuple[list[str], bool]:
        """The suffixes to keep, or (for bucket 0) to leave out: (values, keep)."""
        values = [f"{k:0{_SUFFIX}d}" for k in range(10**_SUFFIX)]
        if self.number:
            return [v for k, v in enumerate(values) if k % self.count == self.number], True
        return [v for k, v in enumerate(values) if k % self.count], False

    def expression(self) -> pc.Expression:
        if self.count == 1:
            return pc.scalar(True)
        values, keep = self._suffixes()
        suffix = pc.utf8_slice_codeunits(pc.field("manifest_no"), -_SUFFIX)
        inside = pc.is_in(suffix, value_set=pa.array(values, pa.string()))
        return inside if keep else ~inside

    def mask(self, numbers: pd.Series) -> pd.Series:
        if self.count == 1:
            return pd.Series(True, index=numbers.index)
        values, keep = self._suffixes()
        inside = numbers.str[-_SUFFIX:].isin(values)
        return inside if keep else ~inside


def read_dataset(dataset: str, bucket: Bucket | None = None) -> pd.DataFrame:
    """Every part of a lake dataset (only the bucket's numbers, if given),
    with its partition column; rows in partition and part order."""
    return lake.read_all(dataset, schema.partition_column(dataset), schema.arrow_schema(dataset),
                         row_filter=None if bucket is None else bucket.expression()).to_pandas()


def plan_buckets(per_bucket: int) -> list[Bucket]:
    """About `per_bucket` stored versions each; a power of two of them, so that
    the buckets (and which part holds a number) change only when the lake doubles."""
    rows = lake.row_count(schema.MANIFESTS)
    count = 1 << max(0, math.ceil(rows / per_bucket) - 1).bit_length()
    count = min(count, 10**_SUFFIX // 2)
    return [Bucket(number, count) for number in range(count)]
