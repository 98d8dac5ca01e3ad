"""The hazardous-waste demo's world and its clean manifests.

The demo facilities and white list of reference/hazwaste, the holiday
calendar of the rules, the seeded random generators every draw comes from,
and the construction of one clean manifest (`Spec`): shipper, waste lines,
receiver, carrier and the approval a clean transfer cites. The planted
anomalies (envmon.demo.hazwaste_plants) bend such clean manifests; the day's
assembly, the timeline and the export files are envmon.demo.hazwaste.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache

from envmon.core.timeutil import BEIJING
from envmon.hazwaste import reference
from envmon.hazwaste.reference import split_list
from envmon.hazwaste.settings import load_rules

# Shares of clean manifests (tuning, not facts).
CROSS_SHARE = 0.12  # cross-province when the home province could take the waste
WHITELIST_SHARE = 0.25  # of cross-province transfers eligible for the white list
KG_SHARE = 0.15
PAPER_SHARE = 0.02
REJECT_SHARE = 0.01
CORRECTION_SHARE = 0.01
STATUS_CONFIRM_SHARE = 0.3  # same-day confirmations sent as a status update

# Codes the demo shippers produce, with weights (a YRD-like mix: packaging,
# waste oil, surface treatment, solvents, acids, medical waste).
CODE_POOL: dict[str, int] = {
    "900-041-49": 6, "900-039-49": 4, "900-047-49": 1, "900-045-49": 1,
    "900-249-08": 5, "900-214-08": 3, "900-210-08": 1, "900-006-09": 3, "900-007-09": 1,
    "900-402-06": 3, "900-404-06": 1, "900-252-12": 3, "900-299-12": 1, "900-014-13": 1,
    "336-064-17": 4, "336-063-17": 1, "772-002-18": 1, "772-003-18": 1, "398-004-22": 1,
    "398-051-22": 1, "900-052-31": 1, "900-023-29": 1, "900-300-34": 2, "900-349-34": 1,
    "900-352-35": 1, "841-001-01": 2, "841-002-01": 1, "900-049-50": 1, "251-016-50": 1,
    "271-001-02": 1, "900-013-11": 1, "900-037-46": 1, "336-100-21": 1, "321-002-48": 1,
}
FORMS = {"HW08": "liquid", "HW09": "liquid", "HW06": "liquid", "HW34": "liquid",
         "HW35": "liquid", "HW17": "semi-solid", "HW12": "semi-solid", "HW13": "semi-solid"}
PACKAGING = {"liquid": "drum", "semi-solid": "tote", "solid": "bag"}

# Receivers the demo plants against (reference/hazwaste/facilities.csv).
EXPIRED_RECEIVER = "DEMO-R-AH03"  # licence valid to 2025-12-31
SMALL_RECEIVER = "DEMO-R-ZJ04"  # licensed for 10 t/a
SPECIAL_RECEIVERS = frozenset({EXPIRED_RECEIVER, SMALL_RECEIVER})


@dataclass
class Spec:
    """One generated manifest, with everything needed to render it at any time."""

    sid: str
    created: datetime
    shipper: dict
    receiver: dict
    carrier: dict
    plate: str
    lines: list[dict]
    approval: dict | None = None
    number: str = ""
    kind: str = "electronic"
    # lifecycle parameters
    depart_hours: float = 1.0
    transit_hours: float = 6.0
    confirm_days: int | None = 1  # working days after receipt; None: never
    received: bool = True
    rejected: bool = False
    paper_days: int = 0  # working days after receipt the paper manifest is entered
    swap_receipt: bool = False  # received before departure
    confirm_twice: bool = False
    correction: bool = False
    status_confirm: bool = False
    bad: str | None = None
    # filled by envmon.demo.hazwaste._finish
    events: list[tuple[str, datetime, str]] = field(default_factory=list)
    entered: datetime | None = None
    corrected_lines: list[dict] | None = None
    planted: dict[str, datetime] = field(default_factory=dict)  # kind -> detectable at


# --- the world: facilities, calendar ------------------------------------------------------


@dataclass
class World:
    seed: int
    shippers: list[dict]
    carriers: list[dict]
    receivers: list[dict]
    whitelist: list[dict]
    calendar: object
    # a day's manifests are built once (envmon.demo.hazwaste._specs): exports share them
    days: dict[date, list[Spec]] = field(default_factory=dict)
    extras: dict[date, list[dict]] = field(default_factory=dict)  # orphan status events

    @classmethod
    def load(cls, seed: int) -> World:
        facilities = reference.load("facilities")
        demo = facilities[facilities["demo"]]
        rows = {role: demo[demo["role"] == role].to_dict(orient="records")
                for role in ("shipper", "carrier", "receiver")}
        for receiver in rows["receiver"]:
            receiver["classes"] = set(split_list(receiver["licensed"]))
        return cls(seed=seed, shippers=rows["shipper"], carriers=rows["carrier"],
                   receivers=rows["receiver"],
                   whitelist=reference.load("whitelist").to_dict(orient="records"),
                   calendar=demo_rules().calendar)


def seeded_rng(seed: int, *keys: object) -> random.Random:
    text = ":".join(str(k) for k in (seed, *keys))
    return random.Random(int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(),
                                        "big"))


def province_of(adcode: str) -> str:
    return adcode[:2]


def prefecture_of(adcode: str) -> str:
    """Digits 3-4 of a manifest number: 01 for a municipality's single unit."""
    return "01" if adcode[:2] in ("11", "12", "31", "50") else adcode[2:4]


def category_of(code: str) -> str:
    return f"HW{code[-2:]}"


def licence_covers(receiver: dict, code: str) -> bool:
    return code in receiver["classes"] or category_of(code) in receiver["classes"]


def whitelisted(world: World, receiver: dict, code: str) -> bool:
    return any(w["receiver_id"] == receiver["facility_id"]
               and w["waste_class"] in (code, category_of(code)) for w in world.whitelist)


# --- one clean manifest ------------------------------------------------------------------------


def clean_spec(world: World, day: date, index: int, shipper: dict | None = None) -> Spec:
    rng = seeded_rng(world.seed, "spec", day.toordinal(), index)
    shipper = shipper or rng.choice(world.shippers)
    profile = _profile(world.seed, shipper)
    first = rng.choices(profile, weights=[CODE_POOL[c] for c in profile])[0]
    receiver = _choose_receiver(world, rng, shipper, [first])
    codes = [first] + [c for c in profile if c != first and licence_covers(receiver, c)]
    codes = codes[:rng.randint(1, min(3, len(codes)))]
    created = datetime.combine(day, time(7, 30), tzinfo=BEIJING) + timedelta(
        minutes=rng.randint(0, 10 * 60))
    carrier = _choose_carrier(world, rng, shipper)
    spec = Spec(sid=f"{day:%Y%m%d}-{index:03d}", created=created, shipper=shipper,
                receiver=receiver, carrier=carrier, plate=rng.choice(
                    split_list(carrier["vehicle_plates"])),
                lines=[waste_line(rng, n, code) for n, code in enumerate(codes, start=1)],
                depart_hours=rng.uniform(0.5, 4), transit_hours=rng.uniform(1, 20),
                confirm_days=rng.choice((0, 1, 1, 2, 3)))
    spec.approval = _approval_for(world, rng, spec)
    draw = rng.random()
    if draw < PAPER_SHARE:
        spec.kind, spec.paper_days = "paper", rng.randint(1, 8)
    elif draw < PAPER_SHARE + REJECT_SHARE:
        spec.rejected, spec.received, spec.confirm_days = True, False, None
    elif draw < PAPER_SHARE + REJECT_SHARE + CORRECTION_SHARE:
        spec.correction = True
    spec.status_confirm = rng.random() < STATUS_CONFIRM_SHARE
    return spec


def _profile(seed: int, shipper: dict) -> list[str]:
    """The 4 codes a shipper produces (fixed per shipper and seed)."""
    rng = seeded_rng(seed, "profile", shipper["facility_id"])
    pool = list(CODE_POOL)
    chosen: list[str] = []
    while len(chosen) < 4:
        code = rng.choices(pool, weights=[CODE_POOL[c] for c in pool])[0]
        if code not in chosen:
            chosen.append(code)
    return chosen


def waste_line(rng: random.Random, number: int, code: str) -> dict:
    category = category_of(code)
    form = FORMS.get(category, "solid")
    in_kg = category == "HW01" or rng.random() < KG_SHARE
    tonnes = round(rng.uniform(0.2, 8.0), 3) if category != "HW01" else round(
        rng.uniform(0.1, 0.9), 3)
    quantity = round(tonnes * 1000) if in_kg else tonnes
    received = round(quantity * rng.uniform(0.985, 1.0), 0 if in_kg else 3)
    return {"line": number, "waste_code": code, "form": form, "packaging": PACKAGING[form],
            "quantity": quantity, "unit": "kg" if in_kg else "t", "received": received}


def receivers_for(world: World, codes: list[str], exclude=SPECIAL_RECEIVERS) -> list[dict]:
    return [r for r in world.receivers if r["facility_id"] not in exclude
            and all(licence_covers(r, c) for c in codes)]


def _choose_receiver(world: World, rng: random.Random, shipper: dict, codes: list[str],
                     cross: bool | None = None) -> dict:
    candidates = receivers_for(world, codes)
    home = [r for r in candidates if province_of(r["adcode"]) == province_of(shipper["adcode"])]
    away = [r for r in candidates if r not in home]
    if cross is None:
        cross = not home or rng.random() < CROSS_SHARE
    pool = (away or home) if cross else (home or away)
    return rng.choice(pool)


def _choose_carrier(world: World, rng: random.Random, shipper: dict) -> dict:
    home = [c for c in world.carriers if province_of(c["adcode"]) == province_of(shipper["adcode"])]
    return rng.choice(home if home and rng.random() < 0.8 else world.carriers)


def is_cross_province(spec: Spec) -> bool:
    return province_of(spec.shipper["adcode"]) != province_of(spec.receiver["adcode"])


def _approval_for(world: World, rng: random.Random, spec: Spec) -> dict | None:
    """The approval a clean transfer cites: none within a province; a per-shipment
    white-list approval when receiver and classes are listed (sometimes); else
    the pair's annual approval."""
    if not is_cross_province(spec):
        return None
    codes = [line["waste_code"] for line in spec.lines]
    if all(whitelisted(world, spec.receiver, c) for c in codes) and rng.random() < WHITELIST_SHARE:
        return whitelist_approval(spec)
    return annual_approval(world, spec, spec.created.year)


def annual_approval(world: World, spec: Spec, year: int) -> dict:
    shipper, receiver = spec.shipper, spec.receiver
    classes = sorted({category_of(c) for c in _profile(world.seed, shipper)
                      if licence_covers(receiver, c)} | {category_of(line["waste_code"])
                                                  for line in spec.lines})
    pair = hashlib.blake2b(f"{shipper['facility_id']}>{receiver['facility_id']}".encode(),
                           digest_size=2).hexdigest()
    return {"approval_no": f"DEMO-XP-{year}-{shipper['adcode'][:2]}{receiver['adcode'][:2]}-"
                           f"{pair}",
            "origin_province": f"{shipper['adcode'][:2]}0000",
            "dest_province": f"{receiver['adcode'][:2]}0000",
            "shipper_id": shipper["facility_id"], "receiver_id": receiver["facility_id"],
            "waste_codes": classes, "approved_tonnes": 100000.0,
            "valid_from": f"{year}-01-01", "valid_to": f"{year}-12-31", "whitelist": False}


def whitelist_approval(spec: Spec) -> dict:
    start = spec.created.date()
    return {"approval_no": f"DEMO-WL-{spec.sid}",
            "origin_province": f"{spec.shipper['adcode'][:2]}0000",
            "dest_province": f"{spec.receiver['adcode'][:2]}0000",
            "shipper_id": spec.shipper["facility_id"],
            "receiver_id": spec.receiver["facility_id"],
            "waste_codes": sorted({category_of(line["waste_code"]) for line in spec.lines}),
            # Room for a correction of the quantity after approval.
            "approved_tonnes": float(int(total_tonnes(spec.lines)) + 2),
            "valid_from": start.isoformat(),
            "valid_to": (start + timedelta(days=30)).isoformat(), "whitelist": True}


def total_tonnes(lines: list[dict]) -> float:
    return sum(line["quantity"] / (1000 if line["unit"] == "kg" else 1) for line in lines)


@cache
def demo_rules():  # -> Rules
    return load_rules()
