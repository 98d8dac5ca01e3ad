"""manifest-csv: the same export as flat CSV, one row per waste line.

Columns (all required, any order, no others): the manifest's fields repeated
on each of its lines, the line's fields, and one time column per lifecycle
event (created_at, departed_at, received_at, confirmed_at, rejected_at; an
empty cell means the event has not happened). `characteristics` is
semicolon-separated ("T;In"). UTF-8, comma-separated, a header row.

Rows are grouped into manifests by manifest_no and the manifest-level cells:
rows of one number whose manifest cells differ are two manifest entries (the
pipeline then sees either a duplicated number or conflicting copies). The
format carries no export time: it is the caller's `exported_at`, else the
latest time written in the file (a lower bound, so time-based rules can only
be more lenient than with the real export time).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from envmon.core.errors import InputError
from envmon.core.parsing import Reject
from envmon.hazwaste.delivery import (
    HEADER_FIELDS,
    LINE_FIELDS,
    Entry,
    FieldError,
    ManifestExport,
    read_int,
    read_number,
    read_text,
    read_time,
    tonnes,
)

# The manifest's and the line's fields carry the canonical names as columns.
HEADER_COLUMNS: tuple[str, ...] = HEADER_FIELDS
LINE_COLUMNS: tuple[str, ...] = LINE_FIELDS
EVENT_COLUMNS: dict[str, tuple[str, str]] = {
    "created_at": ("created", "shipper"), "departed_at": ("departed", "carrier"),
    "received_at": ("received", "receiver"), "confirmed_at": ("confirmed", "receiver"),
    "rejected_at": ("rejected", "receiver")}
COLUMNS: tuple[str, ...] = (*HEADER_COLUMNS, *LINE_COLUMNS, *EVENT_COLUMNS)
# The cells that belong to the manifest rather than to the line.
_MANIFEST_CELLS: tuple[str, ...] = (*HEADER_COLUMNS, *EVENT_COLUMNS)


def parse_manifest_csv(path: Path, *, name: str, exported_at: datetime | None = None
                       ) -> ManifestExport:
    text = _text(Path(path), name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError("empty file", file=name) from None
    except csv.Error as exc:
        raise InputError(f"not readable CSV: {exc}", file=name, row=1) from None
    _check_header(header, name)
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, str]]]] = {}
    rejects: list[Reject] = []
    previous = reader.line_num
    try:
        for cells in reader:
            line_no = previous + 1
            previous = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                rejects.append(Reject(f"{len(cells)} fields, the header has {len(header)}",
                                      line=line_no, field=None, value=None, raw=",".join(cells)))
                continue
            row = {h: c.strip() for h, c in zip(header, cells, strict=True)}
            groups.setdefault(tuple(row[c] for c in _MANIFEST_CELLS), []).append((line_no, row))
    except csv.Error as exc:
        raise InputError(f"not readable CSV: {exc}", file=name, row=previous + 1) from None
    entries = [_entry(rows) for rows in groups.values()]
    when = exported_at or _latest_time(entries)
    if when is None:
        raise InputError("no readable time in the file to date the export; give the export "
                         "time (--exported-at)", file=name)
    return ManifestExport(name=name, exported_at=when, system=None,
                    province=None, entries=entries, rejects=rejects)


def _text(path: Path, name: str) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise InputError("empty file", file=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", file=name) from None


def _check_header(header: list[str], name: str) -> None:
    # Counted once: header.count per column is quadratic (a 6 MB header line of
    # 3 million short names ran for over a minute).
    duplicated = sorted(h for h, n in Counter(header).items() if n > 1)
    if duplicated:
        raise InputError(f"column {duplicated[0]!r} appears twice", file=name, row=1)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (manifest-csv contract)",
                         file=name, row=1)
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        # The first few: the message is one line, whatever the width of the file.
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InputError(f"column(s) {', '.join(unknown[:5])}{more} not in the manifest-csv "
                         "contract", file=name, row=1)


def _entry(rows: list[tuple[int, dict[str, str]]]) -> Entry:
    first_line, first = rows[0]
    entry = Entry(record=first_line, raw=",".join(first[c] for c in COLUMNS),
                  line_sources=[line_no for line_no, _ in rows])
    for part, read in (("header", _header), ("events", _events)):
        try:
            setattr(entry, part, read(first))
        except FieldError as exc:
            entry.problems.append(exc.reject(first_line, entry.raw))
    for position, (line_no, row) in enumerate(rows):
        try:
            entry.lines.append(_line(row, line_no))
        except FieldError as exc:
            entry.line_problems.setdefault(position, []).append(
                exc.reject(line_no, ",".join(row[c] for c in COLUMNS)))
    return entry


def _header(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {c: read_text(row[c], c) for c in HEADER_COLUMNS}
    out["manifest_no"] = read_text(row["manifest_no"], "manifest_no", required=True)
    out["entered_at"] = read_time(row["entered_at"], "entered_at")
    return out


def _events(row: dict[str, str]) -> list[dict[str, Any]]:
    events = []
    for column, (kind, actor) in EVENT_COLUMNS.items():
        at = read_time(row[column], column, required=False)
        if at is not None:
            events.append({"event_type": kind, "at": at, "actor": actor})
    return events


def _line(row: dict[str, str], line_no: int) -> dict[str, Any]:
    quantity = read_number(row["quantity"], "quantity")
    received = read_number(row["received_quantity"], "received_quantity", required=False)
    unit = read_text(row["unit"], "unit")
    characteristics = ";".join(p.strip() for p in row["characteristics"].split(";")
                               if p.strip())
    return {
        "line": read_int(row["line"], "line"),
        "waste_code": read_text(row["waste_code"], "waste_code"),
        "waste_name": read_text(row["waste_name"], "waste_name"),
        "characteristics": characteristics or None,
        "form": read_text(row["form"], "form"),
        "packaging": read_text(row["packaging"], "packaging"),
        "quantity": quantity, "unit": unit, "quantity_t": tonnes(quantity, unit),
        "received_quantity": received, "received_t": tonnes(received, unit),
        "source_line": line_no,
    }


def _latest_time(entries: list[Entry]) -> datetime | None:
    times = [e.header["entered_at"] for e in entries if e.header.get("entered_at")]
    times += [ev["at"] for e in entries for ev in e.events]
    return max(times) if times else None
