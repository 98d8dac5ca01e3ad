"""Hand-made manifest-json exports for tests (the contract, written out by hand).

Defaults describe one clean manifest: a Suzhou shipper (DEMO-S-320506-01,
adcode 320506) sends 2.0 t of 900-041-49 (HW49) with a registered carrier to
DEMO-R-JS01 (Suzhou, licensed for HW49), created and received on Monday
2026-10-12, confirmed the next day: inside every deadline of
config/hazwaste.yaml as of the default export time (2026-10-31 23:00).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXPORTED_AT = "2026-10-31T23:00:00+08:00"
SHIPPER = ("DEMO-S-320506-01", "320506")
RECEIVER = ("DEMO-R-JS01", "320506")
CARRIER = ("DEMO-C-JS01", "苏E07398")
AH01_RECEIVER = ("DEMO-R-AH01", "340104")


def t(day: str, clock: str = "10:00") -> str:
    """'10-12', '08:30' -> '2026-10-12T08:30:00+08:00'."""
    date = day if day.count("-") == 2 else f"2026-{day}"
    return f"{date}T{clock}:00+08:00"


def line(n: int = 1, code: str = "900-041-49", quantity: float = 2.0, unit: str = "t",
         received: float | None = 1.98, **extra: Any) -> dict:
    out = {"line": n, "waste_code": code, "waste_name": "废包装物",
           "characteristics": ["T", "In"], "form": "solid", "packaging": "drum",
           "quantity": quantity, "unit": unit, "received_quantity": received}
    out.update(extra)
    return out


def events(created: str | None = t("10-12", "08:00"), departed: str | None = t("10-12", "09:00"),
           received: str | None = t("10-12", "15:00"),
           confirmed: str | None = t("10-13", "10:00"), **more: str) -> list[dict]:
    """Lifecycle events; pass None to leave one out, `rejected=...` etc. to add."""
    actors = {"created": "shipper", "departed": "carrier", "received": "receiver",
              "confirmed": "receiver", "rejected": "receiver", "corrected": "shipper"}
    pairs = [("created", created), ("departed", departed), ("received", received),
             ("confirmed", confirmed), *more.items()]
    return [{"type": kind.rstrip("_0123456789"), "at": at,
             "actor": actors[kind.rstrip("_0123456789")]}
            for kind, at in pairs if at is not None]


def manifest(no: str, *, shipper: tuple[str, str] = SHIPPER,
             receiver: tuple[str, str] = RECEIVER, carrier: tuple[str, str] = CARRIER,
             kind: str = "electronic", entered: str | None = None,
             approval: str | None = None, lines: list[dict] | None = None,
             lifecycle: list[dict] | None = None) -> dict:
    lifecycle = events() if lifecycle is None else lifecycle
    created = next((e["at"] for e in lifecycle if e["type"] == "created"), t("10-12", "08:00"))
    return {
        "manifest_no": no, "kind": kind, "entered_at": entered or created,
        "shipper": {"id": shipper[0], "name": "移出人", "adcode": shipper[1]},
        "carrier": {"id": carrier[0], "name": "承运人", "permit_no": "P-1",
                    "vehicle_plate": carrier[1]},
        "receiver": {"id": receiver[0], "name": "接受人", "adcode": receiver[1],
                     "licence_no": "L-1"},
        "approval_no": approval,
        "lines": [line()] if lines is None else lines,
        "events": lifecycle,
    }


def approval(no: str, *, origin: str = "320000", dest: str = "340000",
             shipper: str = SHIPPER[0], receiver: str = "DEMO-R-AH01",
             codes: tuple[str, ...] = ("900-041-49",), tonnes: float = 100.0,
             valid_from: str = "2026-01-01", valid_to: str = "2026-12-31",
             whitelist: bool = False) -> dict:
    return {"approval_no": no, "origin_province": origin, "dest_province": dest,
            "shipper_id": shipper, "receiver_id": receiver, "waste_codes": list(codes),
            "approved_tonnes": tonnes, "valid_from": valid_from, "valid_to": valid_to,
            "whitelist": whitelist}


def export(manifests: list[dict], *, approvals: list[dict] | None = None,
           status: list[dict] | None = None, exported_at: str = EXPORTED_AT,
           system: str = "TEST", province: str = "320000") -> dict:
    doc: dict[str, Any] = {"export": {"system": system, "province": province,
                                      "exported_at": exported_at},
                           "approvals": approvals or [], "manifests": manifests}
    if status is not None:
        doc["events"] = status
    return doc


def write(path: Path, doc: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False, indent=1)
    path.write_text(text, encoding="utf-8")
    return path
