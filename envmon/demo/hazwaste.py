"""Demo feed: seeded manifest-json exports for the Yangtze River Delta.

One export per day (`manifests_YYYYMMDD.json`, exported at 23:00 Beijing),
in the real manifest-json contract, for the demo facilities of
reference/hazwaste/facilities.csv. A day's export carries every manifest
with activity that day (created, an event, or a paper manifest entered),
each in full as the system knows it at export time, plus the approvals they
cite and status updates delivered on their own. So a manifest appears in
several exports and the lake's upserts have real work to do.

Most manifests are clean: registered parties, licensed receivers, approved
cross-province transfers (annual approvals, or per-shipment white-list
ones), confirmations within the working-day deadline, a few paper manifests
entered in time, a few corrections, rejections and kg quantities. Every day,
one manifest of each anomaly kind is planted, plus one bad-input manifest
(zero quantity, unknown unit, time without a zone, kg written as t) that
the checks must refuse.

What was planted is written beside the exports
(`planted_<first>_<last>.json`): for every manifest number the exports
carry, the anomaly kinds that are detectable as of the last export. The
pipeline never reads it; tests/hazwaste/test_demo.py does.

Every random draw comes from a generator seeded by (seed, day, manifest
index), so a day's export is the same whether it is generated alone or
inside a month, and the same arguments give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from envmon.core.timeutil import BEIJING
from envmon.hazwaste import reference
from envmon.hazwaste.reference import split_list
from envmon.hazwaste.settings import load_rules

DEFAULT_SEED = 2026
MANIFESTS_PER_DAY = 300  # about; each day varies by up to 10%
# Days a manifest stays active after creation (late confirmations, paper
# entry after 12 working days across a Golden Week): exports look back this far.
LOOKBACK_DAYS = 30
EXPORT_AT = time(23, 0)
FILE_PATTERN = "manifests_{:%Y%m%d}.json"
SYSTEM = "YRD-DEMO"

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

PLANT_KINDS: tuple[str, ...] = (
    "confirmation_late", "in_transit_too_long", "quantity_mismatch", "xprov_no_approval",
    "xprov_approval_expired", "xprov_receiver_not_approved", "xprov_code_not_approved",
    "xprov_tonnes_exceeded", "whitelist_not_listed", "receiver_not_licensed",
    "receiver_licence_expired", "receiver_capacity_exceeded", "facility_unregistered",
    "invalid_manifest_no", "unknown_waste_code", "duplicate_manifest_no", "paper_late_entry",
    "lifecycle_order", "event_unknown_manifest")
# Bad input the checks must refuse: variant -> words the quarantine reason holds.
BAD_INPUT: dict[str, str] = {"zero_quantity": "quantity", "unknown_unit": "unit",
                             "naive_time": "time without a zone", "kg_as_t": "quantity_t"}
# Kinds whose time of detection is a deadline passing (as_of must be later).
_DEADLINE_KINDS = frozenset({"confirmation_late", "in_transit_too_long"})


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
    # filled by _finish
    events: list[tuple[str, datetime, str]] = field(default_factory=list)
    entered: datetime | None = None
    corrected_lines: list[dict] | None = None
    planted: dict[str, datetime] = field(default_factory=dict)  # kind -> detectable at


# --- public API -------------------------------------------------------------------------


def generate_exports(out_dir: Path, first: date, last: date, seed: int = DEFAULT_SEED
                     ) -> list[Path]:
    """Write one export per day from `first` to `last`, and the planted sidecar."""
    if last < first:
        raise ValueError(f"last {last} is before first {first}")
    world = _World.load(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, seen, orphans = [], {}, []
    day = first
    while day <= last:
        document, rendered, day_orphans = _export(world, day)
        path = out_dir / FILE_PATTERN.format(day)
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
        seen.update(rendered)
        orphans += day_orphans
        day += timedelta(days=1)
    as_of = _export_time(last)
    sidecar = out_dir / f"planted_{first:%Y%m%d}_{last:%Y%m%d}.json"
    sidecar.write_text(json.dumps(_sidecar(seen, orphans, as_of, first, last, seed),
                                  ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


# --- the world: facilities, calendar, per-day specs -----------------------------------------


@dataclass
class _World:
    seed: int
    shippers: list[dict]
    carriers: list[dict]
    receivers: list[dict]
    whitelist: list[dict]
    calendar: object
    days: dict[date, list[Spec]] = field(default_factory=dict)
    extras: dict[date, list[dict]] = field(default_factory=dict)  # orphan status events

    @classmethod
    def load(cls, seed: int) -> _World:
        facilities = reference.load("facilities")
        demo = facilities[facilities["demo"]]
        rows = {role: demo[demo["role"] == role].to_dict(orient="records")
                for role in ("shipper", "carrier", "receiver")}
        for receiver in rows["receiver"]:
            receiver["classes"] = set(split_list(receiver["licensed"]))
        return cls(seed=seed, shippers=rows["shipper"], carriers=rows["carrier"],
                   receivers=rows["receiver"],
                   whitelist=reference.load("whitelist").to_dict(orient="records"),
                   calendar=_rules().calendar)

    def specs(self, day: date) -> list[Spec]:
        if day not in self.days:
            self.days[day], self.extras[day] = _day(self, day)
        return self.days[day]


def _rng(seed: int, *keys: object) -> random.Random:
    text = ":".join(str(k) for k in (seed, *keys))
    return random.Random(int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(),
                                        "big"))


def _export_time(day: date) -> datetime:
    return datetime.combine(day, EXPORT_AT, tzinfo=BEIJING)


def _export_day(at: datetime) -> date:
    """The day whose export first carries something that happened at `at`."""
    local = at.astimezone(BEIJING)
    return local.date() + timedelta(days=1) if local.time() > EXPORT_AT else local.date()


def _province(adcode: str) -> str:
    return adcode[:2]


def _prefecture(adcode: str) -> str:
    """Digits 3-4 of a manifest number: 01 for a municipality's single unit."""
    return "01" if adcode[:2] in ("11", "12", "31", "50") else adcode[2:4]


def _category(code: str) -> str:
    return f"HW{code[-2:]}"


def _covers(receiver: dict, code: str) -> bool:
    return code in receiver["classes"] or _category(code) in receiver["classes"]


def _listed(world: _World, receiver: dict, code: str) -> bool:
    return any(w["receiver_id"] == receiver["facility_id"]
               and w["waste_class"] in (code, _category(code)) for w in world.whitelist)


# --- one day ----------------------------------------------------------------------------------


def _day(world: _World, day: date) -> tuple[list[Spec], list[dict]]:
    plan = _rng(world.seed, "plan", day.toordinal())
    count = MANIFESTS_PER_DAY + plan.randint(-MANIFESTS_PER_DAY // 10, MANIFESTS_PER_DAY // 10)
    specs = [_clean(world, day, i) for i in range(count)]
    slots = plan.sample(range(count), len(PLANT_KINDS) + 1)
    by_kind = dict(zip(PLANT_KINDS, slots, strict=False))
    bad_slot = slots[-1]
    protected = set(slots)

    # Plants that add manifests, before numbering.
    companion = _plant_tonnes(world, specs, by_kind["xprov_tonnes_exceeded"], day)
    if companion is not None:
        protected.add(len(specs))
        specs.append(companion)
    _number(specs, day)
    extras: list[dict] = []
    for kind, index in by_kind.items():
        rng = _rng(world.seed, "plant", day.toordinal(), kind)
        if kind == "xprov_tonnes_exceeded":
            continue
        if kind == "event_unknown_manifest":
            extras.append(_plant_orphan(specs[index], rng, day))
            continue
        PLANTERS[kind](world, specs, index, rng, protected)
    specs[bad_slot].bad = list(BAD_INPUT)[day.toordinal() % len(BAD_INPUT)]
    for spec in specs:
        _finish(world, spec)
    return specs, extras


def _clean(world: _World, day: date, index: int, shipper: dict | None = None) -> Spec:
    rng = _rng(world.seed, "spec", day.toordinal(), index)
    shipper = shipper or rng.choice(world.shippers)
    profile = _profile(world.seed, shipper)
    first = rng.choices(profile, weights=[CODE_POOL[c] for c in profile])[0]
    receiver = _choose_receiver(world, rng, shipper, [first])
    codes = [first] + [c for c in profile if c != first and _covers(receiver, c)]
    codes = codes[:rng.randint(1, min(3, len(codes)))]
    created = datetime.combine(day, time(7, 30), tzinfo=BEIJING) + timedelta(
        minutes=rng.randint(0, 10 * 60))
    carrier = _choose_carrier(world, rng, shipper)
    spec = Spec(sid=f"{day:%Y%m%d}-{index:03d}", created=created, shipper=shipper,
                receiver=receiver, carrier=carrier, plate=rng.choice(
                    split_list(carrier["vehicle_plates"])),
                lines=[_line(rng, n, code) for n, code in enumerate(codes, start=1)],
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
    rng = _rng(seed, "profile", shipper["facility_id"])
    pool = list(CODE_POOL)
    chosen: list[str] = []
    while len(chosen) < 4:
        code = rng.choices(pool, weights=[CODE_POOL[c] for c in pool])[0]
        if code not in chosen:
            chosen.append(code)
    return chosen


def _line(rng: random.Random, number: int, code: str) -> dict:
    category = _category(code)
    form = FORMS.get(category, "solid")
    in_kg = category == "HW01" or rng.random() < KG_SHARE
    tonnes = round(rng.uniform(0.2, 8.0), 3) if category != "HW01" else round(
        rng.uniform(0.1, 0.9), 3)
    quantity = round(tonnes * 1000) if in_kg else tonnes
    received = round(quantity * rng.uniform(0.985, 1.0), 0 if in_kg else 3)
    return {"line": number, "waste_code": code, "form": form, "packaging": PACKAGING[form],
            "quantity": quantity, "unit": "kg" if in_kg else "t", "received": received}


def _receivers_for(world: _World, codes: list[str], exclude=SPECIAL_RECEIVERS) -> list[dict]:
    return [r for r in world.receivers if r["facility_id"] not in exclude
            and all(_covers(r, c) for c in codes)]


def _choose_receiver(world: _World, rng: random.Random, shipper: dict, codes: list[str],
                     cross: bool | None = None) -> dict:
    candidates = _receivers_for(world, codes)
    home = [r for r in candidates if _province(r["adcode"]) == _province(shipper["adcode"])]
    away = [r for r in candidates if r not in home]
    if cross is None:
        cross = not home or rng.random() < CROSS_SHARE
    pool = (away or home) if cross else (home or away)
    return rng.choice(pool)


def _choose_carrier(world: _World, rng: random.Random, shipper: dict) -> dict:
    home = [c for c in world.carriers if _province(c["adcode"]) == _province(shipper["adcode"])]
    return rng.choice(home if home and rng.random() < 0.8 else world.carriers)


def _cross(spec: Spec) -> bool:
    return _province(spec.shipper["adcode"]) != _province(spec.receiver["adcode"])


def _approval_for(world: _World, rng: random.Random, spec: Spec) -> dict | None:
    """The approval a clean transfer cites: none within a province; a per-shipment
    white-list approval when receiver and classes are listed (sometimes); else
    the pair's annual approval."""
    if not _cross(spec):
        return None
    codes = [line["waste_code"] for line in spec.lines]
    if all(_listed(world, spec.receiver, c) for c in codes) and rng.random() < WHITELIST_SHARE:
        return _whitelist_approval(spec)
    return _annual_approval(world, spec, spec.created.year)


def _annual_approval(world: _World, spec: Spec, year: int) -> dict:
    shipper, receiver = spec.shipper, spec.receiver
    classes = sorted({_category(c) for c in _profile(world.seed, shipper)
                      if _covers(receiver, c)} | {_category(line["waste_code"])
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


def _whitelist_approval(spec: Spec) -> dict:
    start = spec.created.date()
    return {"approval_no": f"DEMO-WL-{spec.sid}",
            "origin_province": f"{spec.shipper['adcode'][:2]}0000",
            "dest_province": f"{spec.receiver['adcode'][:2]}0000",
            "shipper_id": spec.shipper["facility_id"],
            "receiver_id": spec.receiver["facility_id"],
            "waste_codes": sorted({_category(line["waste_code"]) for line in spec.lines}),
            # Room for a correction of the quantity after approval.
            "approved_tonnes": float(int(_tonnes(spec.lines)) + 2),
            "valid_from": start.isoformat(),
            "valid_to": (start + timedelta(days=30)).isoformat(), "whitelist": True}


def _tonnes(lines: list[dict]) -> float:
    return sum(line["quantity"] / (1000 if line["unit"] == "kg" else 1) for line in lines)


def _number(specs: list[Spec], day: date) -> None:
    """Art. 15 numbers: year + province + prefecture + serial per prefecture;
    serial = day of year * 1000 + running index (unique within the year)."""
    counters: dict[str, int] = {}
    doy = day.timetuple().tm_yday
    for spec in specs:
        adcode = spec.shipper["adcode"]
        prefix = f"{spec.created.year}{adcode[:2]}{_prefecture(adcode)}"
        counters[prefix] = counters.get(prefix, 0) + 1
        spec.number = f"{prefix}{doy * 1000 + counters[prefix]:06d}"


# --- timeline ------------------------------------------------------------------------------------


def _finish(world: _World, spec: Spec) -> None:
    """Events, entry time and detection times from the lifecycle parameters."""
    cal = world.calendar
    created = spec.created
    departed = created + timedelta(hours=spec.depart_hours)
    received = departed + timedelta(hours=spec.transit_hours)
    corrected = None
    if spec.correction:
        corrected = datetime.combine(created.date() + timedelta(days=1), time(9, 0),
                                     tzinfo=BEIJING)
        received = max(received, corrected + timedelta(hours=1, minutes=departed.minute))
        spec.corrected_lines = [dict(line) for line in spec.lines]
        first = spec.corrected_lines[0]
        first["quantity"] = round(first["quantity"] + (100 if first["unit"] == "kg" else 0.1),
                                  3)
        first["received"] = round(first["quantity"] * 0.995, 0 if first["unit"] == "kg" else 3)
    if spec.swap_receipt:
        received = departed - timedelta(minutes=20)
    events = [("created", created, "shipper"), ("departed", departed, "carrier")]
    if spec.rejected:
        events.append(("rejected", received, "receiver"))
    elif spec.received:
        events.append(("received", received, "receiver"))
        if spec.confirm_days is not None:
            confirmed = _confirm_time(cal, received, spec.confirm_days, spec.sid)
            events.append(("confirmed", confirmed, "receiver"))
            if spec.confirm_twice:
                events.append(("confirmed", confirmed + timedelta(hours=26), "receiver"))
    if corrected:
        events.append(("corrected", corrected, "shipper"))
    spec.events = sorted(events, key=lambda e: e[1])
    spec.entered = created
    if spec.kind == "paper":
        last_day = cal.add_working_days(received.date(), spec.paper_days)
        spec.entered = datetime.combine(last_day, time(10, 0), tzinfo=BEIJING)
    if spec.status_confirm:
        confirmed = next((at for kind, at, _ in events if kind == "confirmed"), None)
        # Only a confirmation that falls in the same export as the receipt is
        # sent on its own: the manifest is in that export anyway, so the update
        # never arrives before the manifest it names.
        spec.status_confirm = (confirmed is not None and spec.kind == "electronic"
                               and not spec.confirm_twice and not spec.bad
                               and _export_day(confirmed) == _export_day(received))
    spec.planted = {k: _detectable(spec, k, cal) for k in spec.planted}


def _confirm_time(cal, received: datetime, days: int, sid: str) -> datetime:
    rng = _rng(0, "confirm", sid)
    if days == 0:
        same_day = received + timedelta(minutes=rng.randint(20, 240))
        if same_day.date() == received.date():
            return same_day
        days = 1
    day = cal.add_working_days(received.date(), days)
    return datetime.combine(day, time(9, 0), tzinfo=BEIJING) + timedelta(
        minutes=rng.randint(0, 8 * 60))


def _detectable(spec: Spec, kind: str, cal) -> datetime:
    """The first as-of time at which the planted kind can be seen."""
    times = {k: at for k, at, _ in reversed(spec.events)}  # first of each type
    rules = _rules()
    if kind == "confirmation_late":
        return cal.deadline(times["received"], rules.confirm_within_working_days)
    if kind == "in_transit_too_long":
        return times["departed"] + timedelta(days=rules.in_transit_max_days)
    if kind in ("quantity_mismatch", "receiver_capacity_exceeded"):
        return times["received"]
    if kind == "lifecycle_order" and spec.swap_receipt:
        return max(times["received"], times["departed"])
    if kind == "lifecycle_order":
        return max(at for k, at, _ in spec.events if k == "confirmed")
    return spec.entered


# --- planting ------------------------------------------------------------------------------------


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


def _make_cross(world: _World, spec: Spec, rng: random.Random) -> bool:
    """Send the manifest to a receiver in another province (False if none fits)."""
    codes = [line["waste_code"] for line in spec.lines]
    away = [r for r in _receivers_for(world, codes)
            if _province(r["adcode"]) != _province(spec.shipper["adcode"])]
    if not away:
        return False
    spec.receiver = rng.choice(away)
    return True


def _plant_no_approval(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    if _cross(spec) or _make_cross(world, spec, rng):
        spec.approval = None
        spec.planted["xprov_no_approval"] = spec.created


def _plant_expired(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    if _cross(spec) or _make_cross(world, spec, rng):
        spec.approval = _annual_approval(world, spec, spec.created.year - 1)
        spec.planted["xprov_approval_expired"] = spec.created


def _plant_receiver_not_approved(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    if not (_cross(spec) or _make_cross(world, spec, rng)):
        return
    others = [r for r in world.receivers if r["facility_id"] != spec.receiver["facility_id"]
              and _province(r["adcode"]) == _province(spec.receiver["adcode"])]
    approval = _annual_approval(world, spec, spec.created.year)
    approval["approval_no"] = f"DEMO-XP-{spec.created.year}-RX-{spec.sid}"
    approval["receiver_id"] = rng.choice(others)["facility_id"]
    spec.approval = approval
    spec.planted["xprov_receiver_not_approved"] = spec.created


def _plant_code_not_approved(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    if not (_cross(spec) or _make_cross(world, spec, rng)):
        return
    approval = _annual_approval(world, spec, spec.created.year)
    approval["approval_no"] = f"DEMO-XP-{spec.created.year}-CX-{spec.sid}"
    left_out = spec.lines[0]["waste_code"]
    kept = sorted({line["waste_code"] for line in spec.lines[1:]} - {left_out})
    approval["waste_codes"] = kept or (["HW50"] if _category(left_out) != "HW50" else ["HW01"])
    spec.approval = approval
    spec.planted["xprov_code_not_approved"] = spec.created


def _plant_tonnes(world: _World, specs: list[Spec], i: int, day: date) -> Spec | None:
    """Two shipments under one approval that covers the first and half of the
    second: the second one takes the cumulative tonnes past the approval."""
    rng = _rng(world.seed, "plant", day.toordinal(), "xprov_tonnes_exceeded")
    spec = _plain(specs[i])
    if not (_cross(spec) or _make_cross(world, spec, rng)):
        return None
    first = replace(spec, sid=f"{spec.sid}a", lines=[dict(line) for line in spec.lines],
                    created=spec.created - timedelta(hours=2), planted={})
    spec.created = max(spec.created, first.created + timedelta(hours=2))
    approval = _annual_approval(world, spec, spec.created.year)
    approval["approval_no"] = f"DEMO-XP-{day:%Y%m%d}-TX"
    approval["approved_tonnes"] = round(_tonnes(first.lines) + _tonnes(spec.lines) / 2, 3)
    spec.approval = first.approval = approval
    # Shipping order decides which shipment exceeds: the first one departs first.
    first.depart_hours = spec.depart_hours = 1.0
    spec.planted["xprov_tonnes_exceeded"] = spec.created
    return first


def _plant_whitelist(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    codes = [line["waste_code"] for line in spec.lines]
    away = [r for r in _receivers_for(world, codes)
            if _province(r["adcode"]) != _province(spec.shipper["adcode"])
            and not all(_listed(world, r, c) for c in codes)]
    if not away:
        return
    spec.receiver = rng.choice(away)
    spec.approval = _whitelist_approval(spec)
    spec.planted["whitelist_not_listed"] = spec.created


def _plant_not_licensed(world, specs, i, rng, protected) -> None:
    spec = _plain(specs[i])
    code = spec.lines[0]["waste_code"]
    home = [r for r in world.receivers if r["facility_id"] not in SPECIAL_RECEIVERS
            and _province(r["adcode"]) == _province(spec.shipper["adcode"])
            and not _covers(r, code)]
    if not home:
        return
    spec.receiver, spec.approval = rng.choice(home), None
    spec.planted["receiver_not_licensed"] = spec.created


def _plant_licence_expired(world, specs, i, rng, protected) -> None:
    receiver = next(r for r in world.receivers if r["facility_id"] == EXPIRED_RECEIVER)
    spec = specs[i]
    if spec.created.date() <= receiver["licence_valid_to"]:
        return  # the licence was still valid then: nothing to plant
    shippers = [s for s in world.shippers if _province(s["adcode"]) ==
                _province(receiver["adcode"])]
    replacement = _clean(world, spec.created.date(), 900 + i, shipper=rng.choice(shippers))
    codes = ["900-249-08", "900-041-49"][:rng.randint(1, 2)]
    replacement.lines = [_line(rng, n, c) for n, c in enumerate(codes, start=1)]
    replacement.receiver, replacement.approval = receiver, None
    replacement.sid, replacement.created, replacement.number = spec.sid, spec.created, spec.number
    _renumber(replacement, spec)
    specs[i] = _plain(replacement)
    specs[i].planted["receiver_licence_expired"] = spec.created


def _plant_capacity(world, specs, i, rng, protected) -> None:
    receiver = next(r for r in world.receivers if r["facility_id"] == SMALL_RECEIVER)
    spec = specs[i]
    shippers = [s for s in world.shippers if _province(s["adcode"]) ==
                _province(receiver["adcode"])]
    replacement = _clean(world, spec.created.date(), 900 + i, shipper=rng.choice(shippers))
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
    replacement.number = (f"{replacement.created.year}{adcode[:2]}{_prefecture(adcode)}"
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
    duplicate = _plain(_clean(world, original.created.date(), 950 + i,
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


def _plant_orphan(spec: Spec, rng: random.Random, day: date) -> dict:
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


# --- rendering ---------------------------------------------------------------------------------


def _export(world: _World, day: date) -> tuple[dict, dict[str, Spec], list[dict]]:
    """The export of `day`: manifests with activity since the previous export
    (23:00 the day before), each as known at 23:00."""
    export_at = _export_time(day)
    since = _export_time(day - timedelta(days=1))
    manifests, statuses, approvals, rendered = [], [], {}, {}
    for offset in range(LOOKBACK_DAYS, -1, -1):
        for spec in world.specs(day - timedelta(days=offset)):
            if spec.entered > export_at:
                continue
            nested = [e for e in spec.events if e[1] <= export_at
                      and not (spec.status_confirm and e[0] == "confirmed")]
            touched = since < spec.entered or any(since < at and at >= spec.entered
                                                  for _, at, _ in nested)
            if spec.status_confirm:
                statuses += [{"manifest_no": spec.number, "type": k, "at": _iso(at),
                              "actor": actor} for k, at, actor in spec.events
                             if k == "confirmed" and since < at <= export_at]
            if not touched:
                continue
            manifests.append(_render(spec, nested, export_at))
            rendered[spec.sid] = spec
            if spec.approval:
                approvals[spec.approval["approval_no"]] = spec.approval
    orphans = [e for e in world.extras[day] if e["at"] <= export_at]
    statuses += [{**e, "at": _iso(e["at"])} for e in orphans]
    document = {
        "export": {"system": SYSTEM, "province": "310000", "exported_at": _iso(export_at)},
        "approvals": [approvals[k] for k in sorted(approvals)],
        "manifests": manifests,
        "events": statuses,
    }
    return document, rendered, [{**e, "as_of_day": day} for e in orphans]


def _render(spec: Spec, events: list, export_at: datetime) -> dict:
    corrected = spec.corrected_lines is not None and any(k == "corrected" for k, _, _ in events)
    lines = spec.corrected_lines if corrected else spec.lines
    received = any(k == "received" for k, _, _ in events)
    out_lines = []
    for line in lines:
        category = _category(line["waste_code"])
        out_lines.append({
            "line": line["line"], "waste_code": line["waste_code"],
            "waste_name": _names().get(line["waste_code"], f"{category}类危险废物"),
            "characteristics": _characteristics().get(line["waste_code"], ["T"]),
            "form": line["form"], "packaging": line["packaging"],
            "quantity": line["quantity"], "unit": line["unit"],
            "received_quantity": line["received"] if received else None})
    entered = _iso(spec.entered)
    if spec.bad == "zero_quantity":
        out_lines[0]["quantity"] = 0
    elif spec.bad == "unknown_unit":
        out_lines[0]["unit"] = "L"
    elif spec.bad == "naive_time":
        entered = entered[:19]
    elif spec.bad == "kg_as_t":
        out_lines[0]["quantity"], out_lines[0]["unit"] = 2350, "t"
        if received:
            out_lines[0]["received_quantity"] = 2340
    return {
        "manifest_no": spec.number, "kind": spec.kind, "entered_at": entered,
        "shipper": {"id": spec.shipper["facility_id"], "name": spec.shipper["name"],
                    "adcode": spec.shipper["adcode"]},
        "carrier": {"id": spec.carrier["facility_id"], "name": spec.carrier["name"],
                    "permit_no": spec.carrier.get("permit_no") or None,
                    "vehicle_plate": spec.plate},
        "receiver": {"id": spec.receiver["facility_id"], "name": spec.receiver["name"],
                     "adcode": spec.receiver["adcode"],
                     "licence_no": spec.receiver.get("licence_no") or None},
        "approval_no": spec.approval["approval_no"] if spec.approval else None,
        "lines": out_lines,
        "events": [{"type": k, "at": _iso(at), "actor": actor} for k, at, actor in events],
    }


def _iso(at: datetime) -> str:
    return at.astimezone(BEIJING).isoformat(timespec="seconds")


def _sidecar(seen: dict[str, Spec], orphans: list[dict], as_of: datetime, first: date,
             last: date, seed: int) -> dict:
    """Per manifest number: the kinds detectable as of the last export."""
    manifests: dict[str, dict] = {}
    bad: dict[str, str] = {}
    for spec in seen.values():
        if spec.bad:
            bad[spec.number] = BAD_INPUT[spec.bad]
            continue
        entry = manifests.setdefault(spec.number, {"expected": set(), "pending": set(),
                                                   "specs": 0})
        entry["specs"] += 1
        for kind, at in spec.planted.items():
            due = at < as_of if kind in _DEADLINE_KINDS else at <= as_of
            (entry["expected"] if due else entry["pending"]).add(kind)
    for entry in manifests.values():
        # A duplicated number shows only when both manifests were delivered.
        if "duplicate_manifest_no" in entry["expected"] and entry["specs"] < 2:
            entry["expected"].discard("duplicate_manifest_no")
            entry["pending"].add("duplicate_manifest_no")
    for event in orphans:
        manifests[event["manifest_no"]] = {"expected": {"event_unknown_manifest"},
                                           "pending": set(), "specs": 0}
    return {"first": first.isoformat(), "last": last.isoformat(), "seed": seed,
            "as_of": _iso(as_of),
            "manifests": {no: {"expected": sorted(e["expected"]), "pending": sorted(e["pending"])}
                          for no, e in sorted(manifests.items())},
            "bad_input": dict(sorted(bad.items()))}


@cache
def _names() -> dict[str, str]:
    codes = reference.load("waste_codes")
    return dict(zip(codes["waste_code"], codes["name_zh"], strict=True))


@cache
def _characteristics() -> dict[str, list[str]]:
    codes = reference.load("waste_codes")
    return {c: split_list(v) for c, v in
            zip(codes["waste_code"], codes["characteristics"], strict=True)}


@cache
def _rules():  # -> Rules
    return load_rules()
