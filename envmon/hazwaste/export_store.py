"""Storing a checked manifest export: manifests, lines, events and approvals upserted.

Rows are filed by day inside their month partition, so an export rewrites
the few days it touches. A manifest version (or approval) this source
already stored from a later export is not overwritten: a backfill must not
turn the clock back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from envmon.core import lake
from envmon.core.faults import fault_point
from envmon.core.ledger import RunRecord
from envmon.core.timeutil import BEIJING_TZ_NAME
from envmon.hazwaste import schema
from envmon.hazwaste.delivery import Entry, ManifestExport
from envmon.hazwaste.export_checks import Outcome, typed


def store_export(delivery: ManifestExport, outcome: Outcome, *, source: str,
           record: RunRecord) -> list[str]:
    """Upsert the accepted manifests, lines, events and approvals; returns notes."""
    notes: list[str] = []
    provenance = {"exported_at": pd.Timestamp(delivery.exported_at), "source": source,
                  "run_id": record.run_id}
    entries = [delivery.entries[i] for i in outcome.accepted]
    manifests = _manifest_rows(entries, delivery, record, provenance)
    stale = _stale_versions(manifests, source, delivery.exported_at)
    fault_point("hazwaste-after-stale-check")
    if stale:
        notes.append(f"{len(stale)} manifests not applied: the lake holds them from a later "
                     "export of this source")
        entries = [e for e in entries
                   if (e.header["manifest_no"], e.header["version"]) not in stale]
        manifests = manifests[~manifests.set_index(["manifest_no", "version"]).index
                              .isin(list(stale))]
    lines = _line_rows(entries, manifests, provenance)
    nested = _nested_event_rows(entries, manifests, provenance)
    status = _status_event_rows([delivery.status_events[i] for i in outcome.status_ok],
                                provenance)
    approvals = _approval_rows(delivery.approvals, provenance)
    approvals = approvals[~approvals["approval_no"].isin(
        _stale_approvals(approvals, source, delivery.exported_at))]
    touched: set[str] = set()
    for dataset, frame, keys in (
            (schema.MANIFESTS, manifests, schema.KEYS[schema.MANIFESTS]),
            (schema.LINES, lines, schema.KEYS[schema.LINES]),
            (schema.EVENTS, nested, schema.KEYS[schema.EVENTS]),
            (schema.EVENTS, status, schema.STATUS_EVENT_KEYS)):
        touched.update(_upsert_days(dataset, frame, source, keys))
    lake.upsert_partitions(schema.APPROVALS, approvals, partition_col=schema.APPROVAL_PARTITION,
                           part=source, keys=schema.KEYS[schema.APPROVALS],
                           schema=schema.arrow_schema(schema.APPROVALS))
    record.partitions = sorted(touched)
    if outcome.repeats:
        notes.append(f"{len(outcome.repeats)} manifests delivered twice identically, "
                     "stored once")
    return notes


def _manifest_rows(entries: list[Entry], delivery: ManifestExport, record: RunRecord,
                   provenance: dict) -> pd.DataFrame:
    rows = []
    for entry in entries:
        received = [line["received_t"] for line in entry.lines
                    if line.get("received_t") is not None]
        rows.append({**entry.header, "line_count": len(entry.lines),
                     "quantity_t": sum(line["quantity_t"] for line in entry.lines),
                     "received_t": sum(received) if received else None,
                     "export_system": delivery.system, "export_province": delivery.province,
                     "delivery_sha256": record.sha256, "source_record": entry.record})
    frame = pd.DataFrame(rows, columns=[*schema.MANIFEST_COLUMNS])
    frame = _finish(frame, provenance, schema.MANIFESTS)
    return _file_under(frame, frame["entered_at"])


def _line_rows(entries: list[Entry], manifests: pd.DataFrame, provenance: dict
               ) -> pd.DataFrame:
    rows = [{**line, "manifest_no": e.header["manifest_no"], "version": e.header["version"]}
            for e in entries for line in e.lines]
    frame = _finish(pd.DataFrame(rows, columns=[*schema.LINE_COLUMNS]), provenance, schema.LINES)
    return _with_days_of(frame, manifests)


def _nested_event_rows(entries: list[Entry], manifests: pd.DataFrame, provenance: dict
                       ) -> pd.DataFrame:
    rows = [{**event, "manifest_no": e.header["manifest_no"], "version": e.header["version"],
             "seq": seq} for e in entries for seq, event in enumerate(e.events, start=1)]
    frame = _finish(pd.DataFrame(rows, columns=[*schema.EVENT_COLUMNS]), provenance,
                    schema.EVENTS)
    return _with_days_of(frame, manifests)


def _status_event_rows(events: list[dict], provenance: dict) -> pd.DataFrame:
    # A status update belongs to no version; it is filed under its own day.
    rows = [{**event, "version": "", "seq": 0} for event in events]
    frame = _finish(pd.DataFrame(rows, columns=[*schema.EVENT_COLUMNS]), provenance,
                    schema.EVENTS)
    return _file_under(frame, frame["at"])


def _approval_rows(approvals: list[dict], provenance: dict) -> pd.DataFrame:
    frame = pd.DataFrame(approvals, columns=[*schema.APPROVAL_COLUMNS, "origin_province"])
    frame = _finish(frame, provenance, schema.APPROVALS)
    return frame.drop_duplicates("approval_no", keep="last")


def _finish(frame: pd.DataFrame, provenance: dict, dataset: str) -> pd.DataFrame:
    for key, value in provenance.items():
        frame[key] = value
    frame = typed(frame)
    for column, kind in schema.TABLES[dataset].items():
        if kind == "i32":
            frame[column] = frame[column].astype("int32")
        elif kind == "i64":
            frame[column] = frame[column].astype("int64")
    return frame


def _file_under(frame: pd.DataFrame, at: pd.Series) -> pd.DataFrame:
    """Add the partition (month) and the part's day, both of `at` in Beijing time."""
    day = at.dt.tz_convert(BEIJING_TZ_NAME).dt.strftime("%Y-%m-%d")
    return frame.assign(**{schema.MONTH: day.str[:7], schema.DAY: day})


def _with_days_of(frame: pd.DataFrame, manifests: pd.DataFrame) -> pd.DataFrame:
    """Lines and nested events are filed with their manifest version."""
    where = manifests[[*schema.KEYS[schema.MANIFESTS], schema.MONTH, schema.DAY]]
    return frame.merge(where, on=list(schema.KEYS[schema.MANIFESTS]), how="left")


def _upsert_days(dataset: str, frame: pd.DataFrame, source: str, keys: Sequence[str]
                 ) -> set[str]:
    """Upsert into one part per (source, day) inside the month partition, so an
    export rewrites the few days it touches, never a whole month."""
    touched: set[str] = set()
    stored = schema.arrow_schema(dataset)
    for day, rows in frame.groupby(schema.DAY, sort=True):
        month = str(day)[:7]
        lake.upsert_partitions(dataset, rows, partition_col=schema.MONTH,
                               part=schema.day_part(source, str(day)), keys=keys, schema=stored)
        touched.add(month)
    return touched


def _stale_versions(manifests: pd.DataFrame, source: str, exported_at: datetime
                    ) -> set[tuple[str, str]]:
    """Versions this source already stored from a later export."""
    stale: set[tuple[str, str]] = set()
    for day in manifests[schema.DAY].unique() if len(manifests) else []:
        stored = lake.read_part(schema.MANIFESTS, schema.MONTH, str(day)[:7],
                                schema.day_part(source, str(day)),
                                schema.arrow_schema(schema.MANIFESTS))
        later = stored[stored["exported_at"] > pd.Timestamp(exported_at)]
        stale.update(zip(later["manifest_no"], later["version"], strict=True))
    return stale


def _stale_approvals(approvals: pd.DataFrame, source: str, exported_at: datetime) -> set[str]:
    stale: set[str] = set()
    for province in approvals["origin_province"].unique() if len(approvals) else []:
        stored = lake.read_part(schema.APPROVALS, schema.APPROVAL_PARTITION, province, source,
                                schema.arrow_schema(schema.APPROVALS))
        stale.update(stored.loc[stored["exported_at"] > pd.Timestamp(exported_at),
                                "approval_no"])
    return stale
