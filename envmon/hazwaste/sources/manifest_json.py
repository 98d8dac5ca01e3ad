"""manifest-json: a provincial system's export, one JSON document per delivery.

The contract (docs/standards_hazwaste.md, "Manifest export contract"):

    {"export": {"system", "province", "exported_at"},
     "approvals": [{approval_no, origin_province, dest_province, shipper_id,
                    receiver_id, waste_codes: [...], approved_tonnes,
                    valid_from, valid_to, whitelist}],
     "manifests": [{manifest_no, kind, entered_at,
                    shipper {id, name, adcode},
                    carrier {id, name, permit_no, vehicle_plate},
                    receiver {id, name, adcode, licence_no},
                    approval_no, lines: [...], events: [...]}],
     "events": [{manifest_no, type, at, actor}]}       # envmon extension

The reader is strict: every key of the contract must be present (a value
may be null where the contract allows it), a key the contract does not name
is refused, codes are strings, quantities are numbers, times carry an
offset. A document that is not strict JSON (a key repeated in an object,
nesting deeper than core.strict_json.MAX_DEPTH, NaN), or whose envelope
(`export`) cannot be read, is an InputError for the whole file; a manifest
that breaks the contract is refused with every problem found in it, and the
others load.
The optional top-level `events` list carries status updates for manifests
delivered earlier (an incremental export); it is envmon's extension of the
contract and is documented as such.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from envmon.core.errors import InputError
from envmon.core.parsing import Reject
from envmon.core.strict_json import load_json
from envmon.hazwaste.delivery import (
    Entry,
    FieldError,
    ManifestExport,
    read_int,
    read_number,
    read_text,
    read_time,
    tonnes,
)
from envmon.hazwaste.reference import is_waste_class

TOP_KEYS = frozenset({"export", "approvals", "manifests", "events"})
REQUIRED_TOP = frozenset({"export", "manifests"})
EXPORT_KEYS = frozenset({"system", "province", "exported_at"})
MANIFEST_KEYS = frozenset({"manifest_no", "kind", "entered_at", "shipper", "carrier", "receiver",
                           "approval_no", "lines", "events"})
PARTY_KEYS = {
    "shipper": frozenset({"id", "name", "adcode"}),
    "carrier": frozenset({"id", "name", "permit_no", "vehicle_plate"}),
    "receiver": frozenset({"id", "name", "adcode", "licence_no"}),
}
LINE_KEYS = frozenset({"line", "waste_code", "waste_name", "characteristics", "form",
                       "packaging", "quantity", "unit", "received_quantity"})
EVENT_KEYS = frozenset({"type", "at", "actor"})
STATUS_EVENT_KEYS = EVENT_KEYS | {"manifest_no"}
APPROVAL_KEYS = frozenset({"approval_no", "origin_province", "dest_province", "shipper_id",
                           "receiver_id", "waste_codes", "approved_tonnes", "valid_from",
                           "valid_to", "whitelist"})
_RAW_LIMIT = 4000


def parse_manifest_json(path: Path, *, name: str) -> ManifestExport:
    document = _load(Path(path), name)
    try:
        _keys(document, TOP_KEYS, "", required=REQUIRED_TOP)
        export = document["export"]
        _keys(export, EXPORT_KEYS, "export")
        exported_at = read_time(export["exported_at"], "export.exported_at")
        province = read_text(export["province"], "export.province", required=True)
        if not re.fullmatch(r"\d{6}", province):
            raise FieldError("export.province", province, "not a 6-digit adcode")
        system = read_text(export["system"], "export.system", required=True)
        for key in ("manifests", "approvals", "events"):
            if key in document and not isinstance(document[key], list):
                raise FieldError(key, None, "must be a list")
    except FieldError as exc:
        raise InputError(f"{exc.reason} (the export envelope must follow the manifest-json "
                         "contract)", file=name, field=exc.field or None) from None
    delivery = ManifestExport(name=name, exported_at=exported_at, system=system,
                        province=province)
    for index, item in enumerate(document.get("approvals") or [], start=1):
        try:
            delivery.approvals.append(_approval(item, f"approvals[{index}]"))
        except FieldError as exc:
            delivery.rejects.append(exc.reject(index, _raw(item)))
    for index, item in enumerate(document["manifests"], start=1):
        delivery.entries.append(_entry(item, index))
    for index, item in enumerate(document.get("events") or [], start=1):
        try:
            delivery.status_events.append(_status_event(item, f"events[{index}]", index))
        except FieldError as exc:
            delivery.rejects.append(exc.reject(index, _raw(item)))
    return delivery


def _load(path: Path, name: str) -> Any:
    data = path.read_bytes()
    if not data.strip():
        raise InputError("empty file", file=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", file=name) from None
    return load_json(text, name=name)


def _keys(obj: Any, allowed: frozenset[str], path: str,
          required: frozenset[str] | None = None) -> None:
    if not isinstance(obj, dict):
        raise FieldError(path or "(document)", obj, "must be a JSON object")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise FieldError(where, None, f"key {unknown[0]!r} is not in the manifest-json contract")
    missing = sorted((required if required is not None else allowed) - set(obj))
    if missing:
        where = f"{path}.{missing[0]}" if path else missing[0]
        raise FieldError(where, None, f"missing key {missing[0]!r}")


def _entry(obj: Any, index: int) -> Entry:
    path = f"manifests[{index}]"
    entry = Entry(record=index, raw=_raw(obj))
    lines = obj.get("lines") if isinstance(obj, dict) else None
    entry.line_sources = [index] * (len(lines) if isinstance(lines, list) else 0)
    try:
        _keys(obj, MANIFEST_KEYS, path)
        entry.header = _header(obj, path)
        if not isinstance(obj["lines"], list):
            raise FieldError(f"{path}.lines", None, "must be a list")
        if not isinstance(obj["events"], list):
            raise FieldError(f"{path}.events", None, "must be a list")
    except FieldError as exc:
        entry.problems.append(exc.reject(index, entry.raw))
        return entry
    if not obj["lines"]:
        entry.problems.append(Reject("manifest has no waste lines", line=index,
                                     field=f"{path}.lines", value="[]", raw=entry.raw))
    for position, item in enumerate(obj["lines"]):
        try:
            entry.lines.append(_line(item, f"{path}.lines[{position + 1}]", index))
        except FieldError as exc:
            entry.line_problems.setdefault(position, []).append(exc.reject(index, entry.raw))
    for position, item in enumerate(obj["events"], start=1):
        try:
            entry.events.append(_event(item, f"{path}.events[{position}]", EVENT_KEYS))
        except FieldError as exc:
            entry.problems.append(exc.reject(index, entry.raw))
    return entry


def _header(obj: dict, path: str) -> dict[str, Any]:
    parties = {}
    for role, keys in PARTY_KEYS.items():
        _keys(obj[role], keys, f"{path}.{role}")
        parties[role] = obj[role]
    shipper, carrier, receiver = parties["shipper"], parties["carrier"], parties["receiver"]

    def text(value: Any, where: str) -> str | None:
        return read_text(value, f"{path}.{where}")

    return {
        "manifest_no": read_text(obj["manifest_no"], f"{path}.manifest_no", required=True),
        "kind": text(obj["kind"], "kind"),
        "entered_at": read_time(obj["entered_at"], f"{path}.entered_at"),
        "shipper_id": text(shipper["id"], "shipper.id"),
        "shipper_name": text(shipper["name"], "shipper.name"),
        "shipper_adcode": text(shipper["adcode"], "shipper.adcode"),
        "carrier_id": text(carrier["id"], "carrier.id"),
        "carrier_name": text(carrier["name"], "carrier.name"),
        "carrier_permit_no": text(carrier["permit_no"], "carrier.permit_no"),
        "vehicle_plate": text(carrier["vehicle_plate"], "carrier.vehicle_plate"),
        "receiver_id": text(receiver["id"], "receiver.id"),
        "receiver_name": text(receiver["name"], "receiver.name"),
        "receiver_adcode": text(receiver["adcode"], "receiver.adcode"),
        "receiver_licence_no": text(receiver["licence_no"], "receiver.licence_no"),
        "approval_no": text(obj["approval_no"], "approval_no"),
    }


def _line(obj: Any, path: str, record: int) -> dict[str, Any]:
    _keys(obj, LINE_KEYS, path)
    characteristics = obj["characteristics"]
    if not isinstance(characteristics, list) or not all(isinstance(c, str)
                                                        for c in characteristics):
        raise FieldError(f"{path}.characteristics", characteristics,
                         "must be a list of strings such as [\"T\", \"In\"]")
    quantity = _number(obj["quantity"], f"{path}.quantity")
    received = _number(obj["received_quantity"], f"{path}.received_quantity", required=False)
    unit = read_text(obj["unit"], f"{path}.unit")
    return {
        "line": read_int(obj["line"], f"{path}.line"),
        "waste_code": read_text(obj["waste_code"], f"{path}.waste_code"),
        "waste_name": read_text(obj["waste_name"], f"{path}.waste_name"),
        "characteristics": ";".join(c.strip() for c in characteristics) or None,
        "form": read_text(obj["form"], f"{path}.form"),
        "packaging": read_text(obj["packaging"], f"{path}.packaging"),
        "quantity": quantity, "unit": unit, "quantity_t": tonnes(quantity, unit),
        "received_quantity": received, "received_t": tonnes(received, unit),
        "source_line": record,
    }


def _event(obj: Any, path: str, keys: frozenset[str]) -> dict[str, Any]:
    _keys(obj, keys, path)
    return {"event_type": read_text(obj["type"], f"{path}.type", required=True),
            "at": read_time(obj["at"], f"{path}.at"),
            "actor": read_text(obj["actor"], f"{path}.actor")}


def _status_event(obj: Any, path: str, record: int) -> dict[str, Any]:
    event = _event(obj, path, STATUS_EVENT_KEYS)
    event["manifest_no"] = read_text(obj["manifest_no"], f"{path}.manifest_no", required=True)
    event["source_line"] = record
    return event


def _approval(obj: Any, path: str) -> dict[str, Any]:
    _keys(obj, APPROVAL_KEYS, path)
    codes = obj["waste_codes"]
    if (not isinstance(codes, list) or not codes
            or not all(isinstance(c, str) and is_waste_class(c.strip()) for c in codes)):
        raise FieldError(f"{path}.waste_codes", codes,
                         "must be a non-empty list of codes NNN-NNN-NN or categories HWnn")
    tonnes_ = _number(obj["approved_tonnes"], f"{path}.approved_tonnes")
    if tonnes_ <= 0:
        raise FieldError(f"{path}.approved_tonnes", tonnes_, "must be positive")
    if not isinstance(obj["whitelist"], bool):
        raise FieldError(f"{path}.whitelist", obj["whitelist"], "must be true or false")
    out: dict[str, Any] = {"approved_tonnes": tonnes_, "whitelist": obj["whitelist"],
                           "waste_codes": ";".join(c.strip() for c in codes)}
    for key in ("approval_no", "shipper_id", "receiver_id"):
        out[key] = read_text(obj[key], f"{path}.{key}", required=True)
    for key in ("origin_province", "dest_province"):
        value = read_text(obj[key], f"{path}.{key}", required=True)
        if not re.fullmatch(r"\d{2}0000", value):
            raise FieldError(f"{path}.{key}", value, "not a province-level adcode (NN0000)")
        out[key] = value
    for key in ("valid_from", "valid_to"):
        out[key] = _date(obj[key], f"{path}.{key}")
    if out["valid_to"] < out["valid_from"]:
        raise FieldError(f"{path}.valid_to", obj["valid_to"], "is before valid_from")
    return out


def _number(value: Any, path: str, *, required: bool = True) -> float | None:
    """A JSON number: text such as "2.0" is refused (the contract says number)."""
    if isinstance(value, str):
        raise FieldError(path, value, "must be a JSON number, not text")
    return read_number(value, path, required=required)


def _date(value: Any, path: str) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise FieldError(path, value, "not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(path, value, "not a valid date") from None


def _raw(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return text if len(text) <= _RAW_LIMIT else text[:_RAW_LIMIT - 3] + "..."
