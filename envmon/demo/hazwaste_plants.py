"""The hazardous-waste demo's planted anomalies.

Every day one manifest of each anomaly kind (`PLANT_KINDS`) is planted: a
planter takes a clean manifest of the day (envmon.demo.hazwaste_world) and
bends it (a late confirmation, a missing or wrong approval, an unlicensed
receiver, a duplicated number...) so that exactly that kind shows, and
records when it becomes detectable. `PLANTERS` maps a kind to its planter;
the kinds that add a manifest or a status event of their own have their own
functions, which envmon.demo.hazwaste calls while it assembles the day.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from envmon.core.timeutil import BEIJING
from envmon.demo.hazwaste_world import (
    EXPIRED_RECEIVER,
    SMALL_RECEIVER,
    SPECIAL_RECEIVERS,
    Spec,
    World,
    annual_approval,
    category_of,
    clean_spec,
    is_cross_province,
    licence_covers,
    prefecture_of,
    province_of,
    receivers_for,
    seeded_rng,
    total_tonnes,
    waste_line,
    whitelist_approval,
    whitelisted,
)

PLANT_KINDS: tuple[str, ...] = (
    "confirmation_late", "in_transit_too_long", "quantity_mismatch", "xprov_no_approval",
    "xprov_approval_expired", "xprov_receiver_not_approved", "xprov_code_not_approved",
    "xprov_tonnes_exceeded", "whitelist_not_listed", "receiver_not_licensed",
    "receiver_licence_expired", "receiver_capacity_exceeded", "facility_unregistered",
    "invalid_manifest_no", "unknown_waste_code", "duplicate_manifest_no", "paper_late_entry",
    "lifecycle_order", "event_unknown_manifest")


def _plant_confirmation_late(world, specs, i, rng, protected) -> None:
    spec = specs[i]
    spec.kind, spec.rejected, spec.received, spec.correction = "electronic", False, True, False
    spec.confirm_days = None if rng.random() < 0.5 else 8
    spec.status_confirm = False
    spec.planted["confirmation_late"] = spec.created


def _plant_in_transit(world, specs, i, rng, protected) -> None:
    spec = specs[i]
    spec.kind, spec.rejected, spec.received, spec.correction = "electronic", False, False, False
    spec.confirm_days = None
    spec.planted["in_transit_too_long"] = spec.created


def _plant_quantity(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    first = spec.lines[0]
    first["received"] = round(first["quantity"] * 0.8, 0 if first["unit"] == "kg" else 3)
    spec.planted["quantity_mismatch"] = spec.created


def _plain(spec: Spec) -> Spec:
    """A planted manifest keeps a plain lifecycle, so only its plant shows."""
    spec.kind, spec.rejected, spec.received, spec.correction = "electronic", False, True, False
    if spec.confirm_days is None:
        spec.confirm_days = 1
    return spec


def _make_cross(world: World, spec: Spec, rng: random.Random) -> bool:
    """Send the manifest to a receiver in another province (False if none fits)."""
    codes = [line["waste_code"] for line in spec.lines]
    away = [r for r in receivers_for(world, codes)
            if province_of(r["adcode"]) != province_of(spec.shipper["adcode"])]
    if not away:
        return False
    spec.receiver = rng.choice(away)
    return True


def _plant_no_approval(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    if is_cross_province(spec) or _make_cross(world, spec, rng):
        spec.approval = None
        spec.planted["xprov_no_approval"] = spec.created


def _plant_expired(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    if is_cross_province(spec) or _make_cross(world, spec, rng):
        spec.approval = annual_approval(world, spec, spec.created.year - 1)
        spec.planted["xprov_approval_expired"] = spec.created


def _plant_receiver_not_approved(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    if not (is_cross_province(spec) or _make_cross(world, spec, rng)):
        return
    others = [r for r in world.receivers if r["facility_id"] != spec.receiver["facility_id"]
              and province_of(r["adcode"]) == province_of(spec.receiver["adcode"])]
    approval = annual_approval(world, spec, spec.created.year)
    approval["approval_no"] = f"DEMO-XP-{spec.created.year}-RX-{spec.sid}"
    approval["receiver_id"] = rng.choice(others)["facility_id"]
    spec.approval = approval
    spec.planted["xprov_receiver_not_approved"] = spec.created


def _plant_code_not_approved(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    if not (is_cross_province(spec) or _make_cross(world, spec, rng)):
        return
    approval = annual_approval(world, spec, spec.created.year)
    approval["approval_no"] = f"DEMO-XP-{spec.created.year}-CX-{spec.sid}"
    left_out = spec.lines[0]["waste_code"]
    kept = sorted({line["waste_code"] for line in spec.lines[1:]} - {left_out})
    approval["waste_codes"] = kept or (["HW50"] if category_of(left_out) != "HW50" else ["HW01"])
    spec.approval = approval
    spec.planted["xprov_code_not_approved"] = spec.created


def plant_tonnes(world: World, specs: list[Spec], i: int, day: date) -> Spec | None:
    """Two shipments under one approval that covers the first and half of the
    second: the second one takes the cumulative tonnes past the approval."""
    rng = seeded_rng(world.seed, "plant", day.toordinal(), "xprov_tonnes_exceeded")
    spec = _plain(specs[i])
    if not (is_cross_province(spec) or _make_cross(world, spec, rng)):
        return None
    first = replace(spec, sid=f"{spec.sid}a", lines=[dict(line) for line in spec.lines],
                    created=spec.created - timedelta(hours=2), planted={})
    spec.created = max(spec.created, first.created + timedelta(hours=2))
    approval = annual_approval(world, spec, spec.created.year)
    approval["approval_no"] = f"DEMO-XP-{day:%Y%m%d}-TX"
    approval["approved_tonnes"] = round(total_tonnes(first.lines) + total_tonnes(spec.lines) / 2, 3)
    spec.approval = first.approval = approval
    # Shipping order decides which shipment exceeds: the first one departs first.
    first.depart_hours = spec.depart_hours = 1.0
    spec.planted["xprov_tonnes_exceeded"] = spec.created
    return first


def _plant_whitelist(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    codes = [line["waste_code"] for line in spec.lines]
    away = [r for r in receivers_for(world, codes)
            if province_of(r["adcode"]) != province_of(spec.shipper["adcode"])
            and not all(whitelisted(world, r, c) for c in codes)]
    if not away:
        return
    spec.receiver = rng.choice(away)
    spec.approval = whitelist_approval(spec)
    spec.planted["whitelist_not_listed"] = spec.created


def _plant_not_licensed(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    code = spec.lines[0]["waste_code"]
    home = [r for r in world.receivers if r["facility_id"] not in SPECIAL_RECEIVERS
            and province_of(r["adcode"]) == province_of(spec.shipper["adcode"])
            and not licence_covers(r, code)]
    if not home:
        return
    spec.receiver, spec.approval = rng.choice(home), None
    spec.planted["receiver_not_licensed"] = spec.created


def _plant_licence_expired(world, specs, i, rng, protected) -> None:
    receiver = next(r for r in world.receivers if r["facility_id"] == EXPIRED_RECEIVER)
    spec = specs[i]
    if spec.created.date() <= receiver["licence_valid_to"]:
        return  # the licence was still valid then: nothing to plant
    shippers = [s for s in world.shippers if province_of(s["adcode"]) ==
                province_of(receiver["adcode"])]
    replacement = clean_spec(world, spec.created.date(), 900 + i, shipper=rng.choice(shippers))
    codes = ["900-249-08", "900-041-49"][:rng.randint(1, 2)]
    replacement.lines = [waste_line(rng, n, c) for n, c in enumerate(codes, start=1)]
    replacement.receiver, replacement.approval = receiver, None
    replacement.sid, replacement.created, replacement.number = spec.sid, spec.created, spec.number
    _renumber(replacement, spec)
    specs[i] = _plain(replacement)
    specs[i].planted["receiver_licence_expired"] = spec.created


def _plant_capacity(world, specs, i, rng, protected) -> None:
    receiver = next(r for r in world.receivers if r["facility_id"] == SMALL_RECEIVER)
    spec = specs[i]
    shippers = [s for s in world.shippers if province_of(s["adcode"]) ==
                province_of(receiver["adcode"])]
    replacement = clean_spec(world, spec.created.date(), 900 + i, shipper=rng.choice(shippers))
    # Two lines that together exceed the receiver's whole annual capacity.
    replacement.lines = [
        {"line": 1, "waste_code": "900-249-08", "form": "liquid", "packaging": "drum",
         "quantity": 6.0, "unit": "t", "received": 5.98},
        {"line": 2, "waste_code": "900-006-09", "form": "liquid", "packaging": "drum",
         "quantity": 5.5, "unit": "t", "received": 5.49}]
    replacement.receiver, replacement.approval = receiver, None
    replacement.sid, replacement.created = spec.sid, spec.created
    _renumber(replacement, spec)
    specs[i] = _plain(replacement)
    specs[i].planted["receiver_capacity_exceeded"] = spec.created


def _renumber(replacement: Spec, original: Spec) -> None:
    """A replacement shipper may sit in another prefecture: keep the number's
    serial, take the new shipper's place (a serial in the 8xxxxx range, which
    the daily numbering never reaches)."""
    adcode = replacement.shipper["adcode"]
    replacement.number = (f"{replacement.created.year}{adcode[:2]}{prefecture_of(adcode)}"
                          f"8{original.number[-5:]}")


def _plant_unregistered(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    role = ("shipper", "carrier", "receiver")[rng.randrange(3)]
    if role == "shipper":
        spec.shipper = {**spec.shipper, "facility_id": f"DEMO-S-UNREG-{spec.sid}",
                        "name": "未登记产废单位"}
        if spec.approval:  # its own approval: the pair's annual one names the real shipper
            spec.approval = {**spec.approval, "shipper_id": spec.shipper["facility_id"],
                             "approval_no": f"DEMO-XP-{spec.created.year}-UX-{spec.sid}"}
    elif role == "carrier":
        spec.carrier = {**spec.carrier, "facility_id": f"DEMO-C-UNREG-{spec.sid}",
                        "name": "未登记运输单位"}
    else:
        spec.receiver = {"facility_id": f"DEMO-R-UNREG-{spec.sid}", "name": "未登记接收单位",
                         "adcode": spec.shipper["adcode"], "licence_no": "UNKNOWN"}
        spec.approval = None
    spec.planted["facility_unregistered"] = spec.created


def _plant_invalid_number(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    variant = rng.randrange(3)
    if variant == 0:
        spec.number = spec.number[:-1]  # 13 digits
    elif variant == 1:
        other = "05" if spec.number[6:8] != "05" else "02"
        spec.number = f"{spec.number[:6]}{other}9{spec.number[-5:]}"
    else:
        spec.number = f"{spec.created.year - 1}{spec.number[4:8]}9{spec.number[-5:]}"
    spec.planted["invalid_manifest_no"] = spec.created


def _plant_unknown_code(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    # Well-formed but not listed; a category not in use; malformed.
    spec.lines[0]["waste_code"] = ("900-999-49", "261-001-43", "90-041-49")[rng.randrange(3)]
    spec.planted["unknown_waste_code"] = spec.created


def _plant_duplicate(world, specs, i, rng, protected) -> None:
    """Another manifest (later that day, other waste) under the number of an
    earlier clean one from the same shipper."""
    originals = [j for j, s in enumerate(specs) if j not in protected
                 and s.kind == "electronic" and not s.correction and not s.rejected
                 and s.created.hour < 14]
    if not originals:
        return
    j = rng.choice(originals)
    original = _plain(specs[j])
    duplicate = _plain(clean_spec(world, original.created.date(), 950 + i,
                              shipper=original.shipper))
    duplicate.sid, duplicate.number = specs[i].sid, original.number
    duplicate.created = original.created + timedelta(hours=rng.randint(3, 6))
    duplicate.status_confirm = original.status_confirm = False
    specs[i] = duplicate
    duplicate.planted["duplicate_manifest_no"] = duplicate.created
    original.planted["duplicate_manifest_no"] = duplicate.created
    protected.add(j)


def _plant_paper_late(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    spec.kind, spec.paper_days = "paper", 12
    spec.planted["paper_late_entry"] = spec.created


def _plant_lifecycle(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    if rng.random() < 0.5:
        spec.swap_receipt = True
    else:
        spec.confirm_days = min(spec.confirm_days or 1, 2)
        spec.confirm_twice = True
    spec.planted["lifecycle_order"] = spec.created


def plant_orphan(spec: Spec, rng: random.Random, day: date) -> dict:
    """A status update for a number no delivery carries (serial 99xxxx)."""
    number = f"{spec.number[:8]}99{rng.randint(0, 9999):04d}"
    at = datetime.combine(day, time(10, 0), tzinfo=BEIJING) + timedelta(
        minutes=rng.randint(0, 9 * 60))
    return {"manifest_no": number, "type": "received", "at": at, "actor": "receiver"}


PLANTERS = {
    "confirmation_late": _plant_confirmation_late,
    "in_transit_too_long": _plant_in_transit,
    "quantity_mismatch": _plant_quantity,
    "xprov_no_approval": _plant_no_approval,
    "xprov_approval_expired": _plant_expired,
    "xprov_receiver_not_approved": _plant_receiver_not_approved,
    "xprov_code_not_approved": _plant_code_not_approved,
    "whitelist_not_listed": _plant_whitelist,
    "receiver_not_licensed": _plant_not_licensed,
    "receiver_licence_expired": _plant_licence_expired,
    "receiver_capacity_exceeded": _plant_capacity,
    "facility_unregistered": _plant_unregistered,
    "invalid_manifest_no": _plant_invalid_number,
    "unknown_waste_code": _plant_unknown_code,
    "duplicate_manifest_no": _plant_duplicate,
    "paper_late_entry": _plant_paper_late,
    "lifecycle_order": _plant_lifecycle,
}
