"""What a manifest export parses into, whatever its format.

A delivery holds manifest entries (header, waste lines, nested events),
approvals, and status updates (events delivered without their manifest).
Parsers check structure and types only: a value that cannot be read as its
type (a time without a zone, a quantity that is not a number, a manifest
without lines) makes the entry a refused one, with a Reject naming the
field. Values that read fine but may be wrong (a zero quantity, an unknown
unit) are judged by the Great Expectations suites, so every value rule is
in checks/*.yaml.

The ledger counts rows as waste lines (a manifest without lines counts as
one row), plus one per approval and per status update.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from envmon.core.parsing import Reject
from envmon.core.timeutil import BEIJING

# ISO 8601 with a zone: the contract requires the offset (or Z).
_ISO_ZONED = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")
_ISO_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")

# Units a quantity may be given in, and the factor to tonnes.
UNIT_TONNES: dict[str, float] = {"t": 1.0, "kg": 0.001}

HEADER_FIELDS: tuple[str, ...] = (
    "manifest_no", "kind", "entered_at", "shipper_id", "shipper_name", "shipper_adcode",
    "carrier_id", "carrier_name", "carrier_permit_no", "vehicle_plate",
    "receiver_id", "receiver_name", "receiver_adcode", "receiver_licence_no", "approval_no")
LINE_FIELDS: tuple[str, ...] = (
    "line", "waste_code", "waste_name", "characteristics", "form", "packaging",
    "quantity", "unit", "received_quantity")


class FieldError(ValueError):
    """A value that cannot be read as its type; `field` is its path in the delivery."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.value = value
        self.reason = reason

    def reject(self, line: int | None, raw: str | None = None) -> Reject:
        shown = None if self.value is None else _short(self.value)
        return Reject(reason=f"{self.field}: {self.reason}", line=line, field=self.field,
                      value=shown, raw=raw)


@dataclass
class Entry:
    """One manifest object (JSON) or one manifest's group of rows (CSV)."""

    record: int  # JSON: 1-based position in "manifests"; CSV: line of its first row
    header: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Reject] = field(default_factory=list)  # about the manifest as a whole
    # One item per line object / row as delivered, readable or not: its
    # record or file line, and the problems found in it.
    line_sources: list[int] = field(default_factory=list)
    line_problems: dict[int, list[Reject]] = field(default_factory=dict)
    raw: str | None = None

    @property
    def line_entries(self) -> int:
        return len(self.line_sources)

    @property
    def rows(self) -> int:
        """Rows this entry stands for in the ledger."""
        return max(1, self.line_entries)

    @property
    def refused(self) -> bool:
        return bool(self.problems) or any(self.line_problems.values())

    def all_problems(self) -> list[Reject]:
        return self.problems + [p for ps in self.line_problems.values() for p in ps]


@dataclass
class ManifestExport:
    name: str
    exported_at: datetime
    system: str | None = None
    province: str | None = None
    entries: list[Entry] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    status_events: list[dict[str, Any]] = field(default_factory=list)
    # Approvals or status updates that could not be read: one row each.
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return (sum(e.rows for e in self.entries) + len(self.approvals)
                + len(self.status_events) + len(self.rejects))


def read_time(value: Any, path: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 time with a zone, as an aware datetime in Beijing time."""
    if value is None or value == "":
        if required:
            raise FieldError(path, value, "missing time")
        return None
    if not isinstance(value, str):
        raise FieldError(path, value, "time must be a string (ISO 8601 with an offset)")
    text = value.strip()
    if not _ISO_ZONED.match(text):
        reason = ("time without a zone (the contract requires an offset such as +08:00)"
                  if _ISO_NAIVE.match(text) else "not an ISO 8601 time with an offset")
        raise FieldError(path, value, reason)
    try:
        return datetime.fromisoformat(text).astimezone(BEIJING)
    except ValueError:
        raise FieldError(path, value, "not a valid calendar time") from None


def read_number(value: Any, path: str, *, required: bool = True) -> float | None:
    """A JSON number, or a plain decimal in CSV text (no units, no separators)."""
    if value is None or value == "":
        if required:
            raise FieldError(path, value, "missing number")
        return None
    if isinstance(value, bool):
        raise FieldError(path, value, "a boolean is not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _DECIMAL.match(value.strip()):
        return float(value.strip())
    raise FieldError(path, value, "not a number")


def read_int(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise FieldError(path, value, "a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return int(value.strip())
    raise FieldError(path, value, "not an integer")


def read_text(value: Any, path: str, *, required: bool = False) -> str | None:
    """A string, stripped; empty means missing (the checks decide if it may be)."""
    if value is None:
        if required:
            raise FieldError(path, value, "missing")
        return None
    if not isinstance(value, str):
        raise FieldError(path, value, "must be a string (codes keep their leading zeros)")
    text = value.strip()
    if not text and required:
        raise FieldError(path, value, "empty")
    return text or None


def tonnes(quantity: float | None, unit: str | None) -> float | None:
    """Quantity in tonnes; None when the unit is not one the contract allows."""
    if quantity is None or unit not in UNIT_TONNES:
        return None
    return round(quantity * UNIT_TONNES[unit], 9)


def version_of(header: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """Fingerprint of what the shipper declares: equal for re-deliveries of one manifest.

    Progress (events, received quantities) and details filled in by others
    (carrier, names, licence number) are left out, so a manifest exported
    again later keeps its version; a correction or another manifest under the
    same number gets a new one.
    """
    entered = header.get("entered_at")
    declared = [
        header.get("manifest_no"), header.get("kind"),
        entered.astimezone(BEIJING).isoformat() if entered else None,
        header.get("shipper_id"), header.get("shipper_adcode"),
        header.get("receiver_id"), header.get("receiver_adcode"), header.get("approval_no"),
        sorted([line.get("line"), line.get("waste_code"),
                None if line.get("quantity_t") is None else round(line["quantity_t"], 6)]
               for line in lines),
    ]
    digest = hashlib.sha256(json.dumps(declared, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()[:16]


def content_key(entry: Entry) -> str:
    """Everything an entry carries, to tell identical repeats from conflicting copies."""
    lines = [{k: v for k, v in line.items() if k != "source_line"} for line in entry.lines]
    payload = [entry.header, lines, sorted(
        (e["event_type"], e["at"].isoformat() if e.get("at") else "", e.get("actor") or "")
        for e in entry.events)]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, default=str,
                                     sort_keys=True).encode()).hexdigest()


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    return text if len(text) <= 200 else text[:197] + "..."
