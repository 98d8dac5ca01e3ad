"""Checking a manifest export: which manifests and status updates load, and why the rest do not.

Parse problems, conflicting copies of one manifest version, and the Great
Expectations suites (checks/hw_manifest_lines.yaml, checks/hw_events.yaml)
decide; a bad line or nested event refuses its whole manifest, and every
refused delivered line gets its own quarantine row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from envmon.core.parsing import Reject
from envmon.core.quarantine import QuarantineRow
from envmon.core.timeutil import BEIJING_TZ_NAME
from envmon.hazwaste.delivery import (
    HEADER_FIELDS,
    LINE_FIELDS,
    Entry,
    ManifestExport,
    content_key,
    version_of,
)

LINES_SUITE = "hw_manifest_lines"
EVENTS_SUITE = "hw_events"
_TS_COLUMNS = ("entered_at", "at", "exported_at")


@dataclass
class Outcome:
    """Which entries and status updates a delivery loads, and what it refuses."""

    accepted: list[int] = field(default_factory=list)  # entry indexes to store
    # Identical copies of an entry (repeat -> the entry it repeats): loaded
    # once, as that entry; refused with it.
    repeats: dict[int, int] = field(default_factory=dict)
    status_ok: list[int] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    gx_success: bool = True



def check_export(delivery: ManifestExport, run_id: str, *, data_docs: bool) -> Outcome:
    """Parse problems, conflicting copies and the GX suites decide what loads."""
    from envmon.core.checks import validate
    from envmon.hazwaste.settings import load_rules

    outcome = Outcome()
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


def _resolve_copies(delivery: ManifestExport, outcome: Outcome) -> None:
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


def _lines_frame(delivery: ManifestExport, indexes: list[int]) -> pd.DataFrame:
    rows = []
    for index in indexes:
        entry = delivery.entries[index]
        for position, line in enumerate(entry.lines):
            rows.append({**entry.header, **line, "_entry": index, "_position": position})
    columns = [*HEADER_FIELDS, "version", *LINE_FIELDS, "quantity_t", "received_t",
               "source_line", "_entry", "_position"]
    return typed(pd.DataFrame(rows, columns=columns))


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
    return typed(pd.DataFrame(rows, columns=columns))


def typed(frame: pd.DataFrame) -> pd.DataFrame:
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
