"""Quarantine: every refused row, with the reason, kept for review.

One Parquet file per dataset, source and delivery (sha256), so re-running a
delivery replaces its quarantine instead of adding duplicates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from envmon.core import lake_tables, lakehouse
from envmon.core.atomic import write_atomic
from envmon.core.names import checked
from envmon.core.parsing import Reject
from envmon.core.settings import home

# The quarantine's table on the lakehouse (ENVMON_STORAGE=lakehouse).
QUARANTINE_TABLE = "quarantine"

QUARANTINE_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("dataset", pa.string()),
    ("source", pa.string()),
    ("file", pa.string()),
    ("sha256", pa.string()),
    ("line", pa.int64()),
    ("field", pa.string()),
    ("value", pa.string()),
    ("rule", pa.string()),
    ("reason", pa.string()),
    ("raw", pa.string()),
    ("quarantined_at", pa.timestamp("us", tz="UTC")),
])


@dataclass(frozen=True)
class QuarantineRow:
    check: str
    reason: str
    line: int | None = None
    field: str | None = None
    value: str | None = None
    raw: str | None = None

    @classmethod
    def from_reject(cls, reject: Reject) -> QuarantineRow:
        return cls(check="parse", reason=reject.reason, line=reject.line, field=reject.field,
                   value=reject.value, raw=reject.raw)


def rows_from_frame(frame: pd.DataFrame, reasons: pd.Series, checks: pd.Series,
                    fields: pd.Series) -> list[QuarantineRow]:
    """Quarantine rows for canonical rows refused by the checks."""
    out = []
    records = frame.to_dict(orient="records")
    for rec, reason, check, fld in zip(records, reasons, checks, fields, strict=True):
        value = rec.get(fld) if fld else None
        line = rec.get("source_line")
        out.append(QuarantineRow(
            check=check, reason=reason,
            line=None if line is None or pd.isna(line) else int(line),
            field=fld or None,
            value=None if value is None or _isna(value) else str(value),
            raw=json.dumps({k: _jsonable(v) for k, v in rec.items()}, ensure_ascii=False)))
    return out


def write_quarantine(rows: list[QuarantineRow], *, run_id: str, dataset: str, source: str,
                     file: str, sha256: str) -> Path | None:
    if lakehouse.active():
        lake_tables.delete(QUARANTINE_TABLE, dataset=dataset, source=source, sha256=sha256)
        lake_tables.append(QUARANTINE_TABLE, _table(rows, run_id=run_id, dataset=dataset,
                                                    source=source, file=file, sha256=sha256))
        return None
    path = home().quarantine / checked(dataset, "dataset") / checked(source, "source") / \
        f"{sha256}.parquet"
    if not rows:
        path.unlink(missing_ok=True)
        return path
    table = _table(rows, run_id=run_id, dataset=dataset, source=source, file=file, sha256=sha256)
    write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    return path


def _table(rows: list[QuarantineRow], *, run_id: str, dataset: str, source: str, file: str,
           sha256: str) -> pa.Table:
    now = datetime.now(UTC)
    return pa.Table.from_pylist(
        [{"run_id": run_id, "dataset": dataset, "source": source, "file": file,
          "sha256": sha256, "line": r.line, "field": r.field, "value": r.value,
          "rule": r.check, "reason": r.reason, "raw": r.raw, "quarantined_at": now}
         for r in rows], schema=QUARANTINE_SCHEMA)


def _isna(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _jsonable(value: object) -> object:
    if value is None or _isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value
