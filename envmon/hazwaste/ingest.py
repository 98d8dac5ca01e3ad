"""Manifest exports into the lake: the hazardous-waste loader of core.ingest.

A manifest export fills four datasets (manifests, lines, events, approvals)
and is refused or accepted per manifest. `run_deliveries` does what every
delivery shares (landing order, duplicate bytes, parse failures, journal,
locks, ledger row); `ManifestExports` says how an export is checked and
stored, with the ledger invariant rows_in = rows_loaded + rows_quarantined
(rows are waste lines, see envmon/hazwaste/delivery.py).

Re-delivery is idempotent: identical bytes are skipped (ledger marker), and
otherwise every row is upserted by its key, so the same manifests give the
same lake. A manifest version already stored from a *later* export of the
same source is not overwritten by an earlier one (a backfill run after the
daily runs must not turn the clock back).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import pandas as pd

from envmon.core import lake
from envmon.core.faults import fault_point
from envmon.core.ingest import BatchOptions, Delivery, Parsed, StepClock, run_deliveries
from envmon.core.landing import LandedFile, land_file
from envmon.core.ledger import RunRecord
from envmon.core.parsing import Reject
from envmon.core.progress import Reporter
from envmon.core.quarantine import QuarantineRow, write_quarantine
from envmon.core.timeutil import BEIJING_TZ_NAME
from envmon.hazwaste import schema
from envmon.hazwaste.delivery import (
    HEADER_FIELDS,
    LINE_FIELDS,
    Entry,
    ManifestExport,
    content_key,
    version_of,
)
from envmon.hazwaste.sources import FORMATS

DOMAIN = "hazwaste"
LINES_SUITE = "hw_manifest_lines"
EVENTS_SUITE = "hw_events"
_TS_COLUMNS = ("entered_at", "at", "exported_at")


@dataclass
class _Outcome:
    """Which entries and status updates a delivery loads, and what it refuses."""

    accepted: list[int] = field(default_factory=list)  # entry indexes to store
    # Identical copies of an entry (repeat -> the entry it repeats): loaded
    # once, as that entry; refused with it.
    repeats: dict[int, int] = field(default_factory=dict)
    status_ok: list[int] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    gx_success: bool = True


class ManifestExports:
    """The core.ingest Loader of manifest exports: one export at a time, in order.

    Exports are not grouped: which stored versions are stale depends on what
    the exports before this one wrote. The store holds two locks: the
    source's (check-then-write, so two exports of one source take turns from
    the stale check to the ledger row) and the lake's, shared (the refresh
    holds it exclusively, so it never reads half a delivery).
    """

    name = schema.LEDGER_DATASET
    grouped = False

    def check(self, parsed: list[Parsed], options: BatchOptions) -> list[_Outcome]:
        return [_check(p.result, p.record.run_id, data_docs=options.data_docs) for p in parsed]

    def locks(self, parsed: list[Parsed], source: str) -> list[tuple[str, bool]]:
        return [(f"{schema.LEDGER_DATASET}.source.{source}", False), (schema.LAKE_LOCK, True)]

    def store(self, parsed: list[Parsed], outcomes: list[_Outcome], *, source: str,
              clock: StepClock) -> None:
        for p, outcome in zip(parsed, outcomes, strict=True):
            record, export = p.record, p.result
            with clock("load"):
                notes = _store(export, outcome, source=source, record=record)
                write_quarantine(outcome.quarantine, run_id=record.run_id,
                                 dataset=schema.LEDGER_DATASET, source=source,
                                 file=";".join(record.files), sha256=record.sha256)
            _account(record, export, outcome, notes)


def ingest_files(paths: Iterable[Path], fmt: str, *, source: str | None = None,
                 exported_at: datetime | None = None, as_of: datetime | None = None,
                 force: bool = False, data_docs: bool = True, refresh: bool = True,
                 reporter: Reporter | None = None) -> list[RunRecord]:
    """`envmon ingest hazwaste`: land and load each file (one run each), then
    recompute manifest states and anomalies once over everything stored."""
    paths = list(paths)
    label = source or fmt

    def deliveries() -> Iterator[LandedFile]:
        for path in paths:
            yield land_file(Path(path), domain=DOMAIN, source=label)

    records = load_exports(deliveries(), fmt, source=label, exported_at=exported_at,
                           force=force, data_docs=data_docs, reporter=reporter,
                           total=len(paths))
    if refresh:
        refresh_derived(as_of=as_of, reporter=reporter)
    return records


def load_exports(landed: Iterable[LandedFile], fmt: str, *, source: str,
                 exported_at: datetime | None = None, force: bool = False,
                 data_docs: bool = True, reporter: Reporter | None = None,
                 total: int | None = None,
                 on_record: Callable[[RunRecord], None] | None = None) -> list[RunRecord]:
    """Parse, check and store landed manifest exports in order (one ledger row each)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown hazwaste format {fmt!r}; known: {', '.join(FORMATS)}")
    done = 0

    def report(record: RunRecord) -> None:
        nonlocal done
        done += 1
        if reporter:
            reporter.run(record, f"[{done}/{total}] " if total else f"[{done}] ")
        if on_record:
            on_record(record)

    deliveries = (Delivery([file], partial(FORMATS[fmt].parse, file.path, name=file.name,
                                          exported_at=exported_at))
                  for file in landed)
    return run_deliveries(ManifestExports(), deliveries, source=source,
                          options=BatchOptions(force=force, data_docs=data_docs),
                          on_record=report)


def refresh_derived(as_of: datetime | None = None, reporter: Reporter | None = None) -> dict:
    from envmon.hazwaste.derive import refresh

    summary = refresh(as_of=as_of)
    if reporter:
        reporter.say(f"hazwaste: {summary['manifests']:,} manifests, "
                     f"{summary['anomalies']:,} anomalies recomputed "
                     f"({summary['seconds']:.1f}s)")
    return summary


def _account(record: RunRecord, delivery: ManifestExport, outcome: _Outcome, notes: list[str]
             ) -> None:
    record.rows_in = delivery.rows_in
    record.rows_quarantined = len(outcome.quarantine)
    record.rows_loaded = record.rows_in - record.rows_quarantined
    record.validation_success = outcome.gx_success
    if record.rows_in and not record.rows_loaded:
        # Refused rows of a run that loaded something show in its counts; a
        # run that loaded nothing says so.
        record.status = "failed"
        notes.append(f"nothing in the delivery could be loaded: all {len(delivery.entries)} "
                     "manifests refused (see quarantine)")
    record.message = "; ".join(notes)


# --- checks --------------------------------------------------------------------


def _check(delivery: ManifestExport, run_id: str, *, data_docs: bool) -> _Outcome:
    """Parse problems, conflicting copies and the GX suites decide what loads."""
    from envmon.core.checks import validate
    from envmon.hazwaste.settings import load_rules

    outcome = _Outcome()
    for entry in delivery.entries:
        if not entry.refused:
            entry.header["version"] = version_of(entry.header, entry.lines)
    _resolve_copies(delivery, outcome)
    candidates = [i for i, e in enumerate(delivery.entries)
                  if not e.refused and i not in outcome.repeats]
    params = {"exported_at": pd.Timestamp(delivery.exported_at),
              "max_line_tonnes": load_rules().max_line_tonnes}
    lines = _lines_frame(delivery, candidates)
    events = _events_frame(delivery, candidates)
    line_check = validate(LINES_SUITE, lines, run_id=run_id, params=params, data_docs=data_docs)
    event_check = validate(EVENTS_SUITE, events, run_id=f"{run_id}-events", params=params,
                           data_docs=data_docs)
    outcome.gx_success = line_check.success and event_check.success

    # GX failures, per entry (a bad line or nested event refuses its manifest).
    failures: dict[int, list[tuple[int | None, Reject]]] = {}
    for rec in line_check.bad.to_dict(orient="records"):
        failures.setdefault(int(rec["_entry"]), []).append(
            (int(rec["_position"]), _gx_reject(rec, "line")))
    status_bad: dict[int, Reject] = {}
    for rec in event_check.bad.to_dict(orient="records"):
        if int(rec["_entry"]) >= 0:
            failures.setdefault(int(rec["_entry"]), []).append((None, _gx_reject(rec, "event")))
        else:
            status_bad[int(rec["_status"])] = _gx_reject(rec, "event")
    for index in candidates:
        entry = delivery.entries[index]
        for position, reject in failures.get(index, []):
            if position is None:
                entry.problems.append(reject)
            else:
                entry.line_problems.setdefault(position, []).append(reject)
        if entry.refused:
            continue
        outcome.accepted.append(index)
    for repeat, original in list(outcome.repeats.items()):
        if delivery.entries[original].refused:
            copy = delivery.entries[repeat]
            copy.problems.append(Reject(
                f"identical copy of record {delivery.entries[original].record}, which was "
                "refused", line=copy.record, field="manifest_no",
                value=copy.header.get("manifest_no"), raw=copy.raw))
            del outcome.repeats[repeat]
    for entry in delivery.entries:
        if entry.refused:
            outcome.quarantine += _refused_rows(entry)
    for index, event in enumerate(delivery.status_events):
        if index in status_bad:
            reject = status_bad[index]
            outcome.quarantine.append(QuarantineRow(
                check=_check_name(reject), reason=reject.reason, line=event["source_line"],
                field=reject.field, value=reject.value, raw=reject.raw))
        else:
            outcome.status_ok.append(index)
    outcome.quarantine += [QuarantineRow.from_reject(r) for r in delivery.rejects]
    return outcome


def _resolve_copies(delivery: ManifestExport, outcome: _Outcome) -> None:
    """Several entries of one manifest version in one delivery: identical
    repeats are loaded once; copies that disagree are all refused, since
    neither can be taken as the truth."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index, entry in enumerate(delivery.entries):
        if not entry.refused:
            groups.setdefault((entry.header["manifest_no"], entry.header["version"]),
                              []).append(index)
    for (number, _), indexes in groups.items():
        if len(indexes) < 2:
            continue
        keys = {content_key(delivery.entries[i]) for i in indexes}
        if len(keys) == 1:
            outcome.repeats.update({i: indexes[0] for i in indexes[1:]})
            continue
        records = ", ".join(str(delivery.entries[i].record) for i in indexes)
        for i in indexes:
            entry = delivery.entries[i]
            entry.problems.append(Reject(
                f"manifest {number} appears {len(indexes)} times (records {records}) with the "
                "same declared content but different events or progress; none is loaded",
                line=entry.record, field="manifest_no", value=number, raw=entry.raw))


def _gx_reject(rec: dict, what: str) -> CheckedReject:
    fld = rec.get("_field") or None
    value = rec.get(fld) if fld else None
    shown = None if value is None or (not isinstance(value, str) and pd.isna(value)) \
        else str(value)
    line = rec.get("source_line")
    return CheckedReject(reason=f"{what} failed {rec['_reason']}", field=fld, value=shown,
                         line=None if line is None or pd.isna(line) else int(line),
                         raw=json.dumps({k: _jsonable(v) for k, v in rec.items()
                                         if not k.startswith("_")}, ensure_ascii=False),
                         check=rec["_check"])


def _refused_rows(entry: Entry) -> list[QuarantineRow]:
    """One quarantine row per delivered line of a refused manifest (one row if
    it has none), each with its own problem first and the manifest's after."""
    general = entry.problems
    rows = []
    sources = entry.line_sources or [entry.record]
    for position, line_no in enumerate(sources):
        own = entry.line_problems.get(position, [])
        problems = own + general
        if not problems:  # a sibling of the failing line
            problems = [p for ps in entry.line_problems.values() for p in ps][:1]
            prefix = "manifest refused because of another line: "
        else:
            prefix = "" if own else "manifest refused: "
        first = problems[0]
        reason = prefix + "; ".join(dict.fromkeys(p.reason for p in problems))
        rows.append(QuarantineRow(check=_check_name(first), reason=reason, line=line_no,
                                  field=first.field, value=first.value,
                                  raw=first.raw or entry.raw))
    return rows


def _check_name(reject: Reject) -> str:
    """The quarantine `rule`: the failed expectation(s), or "parse"."""
    return reject.check if isinstance(reject, CheckedReject) else "parse"


@dataclass(frozen=True)
class CheckedReject(Reject):
    """A value a Great Expectations suite refused; `check` names the expectation(s)."""

    check: str = "gx"


# --- frames ----------------------------------------------------------------------


def _lines_frame(delivery: ManifestExport, indexes: list[int]) -> pd.DataFrame:
    rows = []
    for index in indexes:
        entry = delivery.entries[index]
        for position, line in enumerate(entry.lines):
            rows.append({**entry.header, **line, "_entry": index, "_position": position})
    columns = [*HEADER_FIELDS, "version", *LINE_FIELDS, "quantity_t", "received_t",
               "source_line", "_entry", "_position"]
    return _typed(pd.DataFrame(rows, columns=columns))


def _events_frame(delivery: ManifestExport, indexes: list[int]) -> pd.DataFrame:
    rows = []
    for index in indexes:
        entry = delivery.entries[index]
        for seq, event in enumerate(entry.events, start=1):
            rows.append({**event, "manifest_no": entry.header["manifest_no"],
                         "version": entry.header["version"], "seq": seq,
                         "source_line": entry.record, "_entry": index, "_status": -1})
    for index, event in enumerate(delivery.status_events):
        rows.append({**event, "version": "", "seq": 0, "_entry": -1, "_status": index})
    columns = ["manifest_no", "version", "event_type", "at", "actor", "seq", "source_line",
               "_entry", "_status"]
    return _typed(pd.DataFrame(rows, columns=columns))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in _TS_COLUMNS:
        if column in frame:
            frame[column] = _instants(frame[column])
    for column in ("quantity", "quantity_t", "received_quantity", "received_t"):
        if column in frame:
            frame[column] = frame[column].astype("float64")
    return frame


def _instants(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.tz_convert(BEIJING_TZ_NAME).astype(
        f"datetime64[us, {BEIJING_TZ_NAME}]")


# --- storing -----------------------------------------------------------------------


def _store(delivery: ManifestExport, outcome: _Outcome, *, source: str,
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
    frame = _typed(frame)
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
        path = lake.partition_path(schema.MANIFESTS, schema.MONTH, str(day)[:7],
                                   schema.day_part(source, str(day)))
        stored = lake.read_part(path, schema.arrow_schema(schema.MANIFESTS))
        later = stored[stored["exported_at"] > pd.Timestamp(exported_at)]
        stale.update(zip(later["manifest_no"], later["version"], strict=True))
    return stale


def _stale_approvals(approvals: pd.DataFrame, source: str, exported_at: datetime) -> set[str]:
    stale: set[str] = set()
    for province in approvals["origin_province"].unique() if len(approvals) else []:
        path = lake.partition_path(schema.APPROVALS, schema.APPROVAL_PARTITION, province,
                                   source)
        stored = lake.read_part(path, schema.arrow_schema(schema.APPROVALS))
        stale.update(stored.loc[stored["exported_at"] > pd.Timestamp(exported_at),
                                "approval_no"])
    return stale


def _jsonable(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, float) and pd.isna(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
