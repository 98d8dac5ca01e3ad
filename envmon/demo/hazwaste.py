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

The world and the clean manifests are envmon.demo.hazwaste_world, the
planted anomalies envmon.demo.hazwaste_plants; this module assembles each
day, runs the manifests' timelines and writes the exports and the sidecar.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from envmon.core.timeutil import BEIJING
from envmon.demo.hazwaste_plants import PLANT_KINDS, PLANTERS, plant_orphan, plant_tonnes
from envmon.demo.hazwaste_world import (
    Spec,
    World,
    category_of,
    clean_spec,
    demo_rules,
    prefecture_of,
    seeded_rng,
)
from envmon.hazwaste import reference
from envmon.hazwaste.reference import split_list

DEFAULT_SEED = 2026
MANIFESTS_PER_DAY = 300  # about; each day varies by up to 10%
# Days a manifest stays active after creation (late confirmations, paper
# entry after 12 working days across a Golden Week): exports look back this far.
LOOKBACK_DAYS = 30
EXPORT_AT = time(23, 0)
FILE_PATTERN = "manifests_{:%Y%m%d}.json"
SYSTEM = "YRD-DEMO"

# Bad input the checks must refuse: variant -> words the quarantine reason holds.
BAD_INPUT: dict[str, str] = {"zero_quantity": "quantity", "unknown_unit": "unit",
                             "naive_time": "time without a zone", "kg_as_t": "quantity_t"}
# Kinds whose time of detection is a deadline passing (as_of must be later).
_DEADLINE_KINDS = frozenset({"confirmation_late", "in_transit_too_long"})


# --- public API -------------------------------------------------------------------------


def generate_exports(out_dir: Path, first: date, last: date, seed: int = DEFAULT_SEED
                     ) -> list[Path]:
    """Write one export per day from `first` to `last`, and the planted sidecar."""
    if last < first:
        raise ValueError(f"last {last} is before first {first}")
    world = World.load(seed)
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


# --- one day ----------------------------------------------------------------------------------


def _specs(world: World, day: date) -> list[Spec]:
    """The day's manifests, assembled once per world."""
    if day not in world.days:
        world.days[day], world.extras[day] = _day(world, day)
    return world.days[day]


def _export_time(day: date) -> datetime:
    return datetime.combine(day, EXPORT_AT, tzinfo=BEIJING)


def _export_day(at: datetime) -> date:
    """The day whose export first carries something that happened at `at`."""
    local = at.astimezone(BEIJING)
    return local.date() + timedelta(days=1) if local.time() > EXPORT_AT else local.date()


def _day(world: World, day: date) -> tuple[list[Spec], list[dict]]:
    plan = seeded_rng(world.seed, "plan", day.toordinal())
    count = MANIFESTS_PER_DAY + plan.randint(-MANIFESTS_PER_DAY // 10, MANIFESTS_PER_DAY // 10)
    specs = [clean_spec(world, day, i) for i in range(count)]
    slots = plan.sample(range(count), len(PLANT_KINDS) + 1)
    by_kind = dict(zip(PLANT_KINDS, slots, strict=False))
    bad_slot = slots[-1]
    protected = set(slots)

    # Plants that add manifests, before numbering.
    companion = plant_tonnes(world, specs, by_kind["xprov_tonnes_exceeded"], day)
    if companion is not None:
        protected.add(len(specs))
        specs.append(companion)
    _number(specs, day)
    extras: list[dict] = []
    for kind, index in by_kind.items():
        rng = seeded_rng(world.seed, "plant", day.toordinal(), kind)
        if kind == "xprov_tonnes_exceeded":
            continue
        if kind == "event_unknown_manifest":
            extras.append(plant_orphan(specs[index], rng, day))
            continue
        PLANTERS[kind](world, specs, index, rng, protected)
    specs[bad_slot].bad = list(BAD_INPUT)[day.toordinal() % len(BAD_INPUT)]
    for spec in specs:
        _finish(world, spec)
    return specs, extras


def _number(specs: list[Spec], day: date) -> None:
    """Art. 15 numbers: year + province + prefecture + serial per prefecture;
    serial = day of year * 1000 + running index (unique within the year)."""
    counters: dict[str, int] = {}
    doy = day.timetuple().tm_yday
    for spec in specs:
        adcode = spec.shipper["adcode"]
        prefix = f"{spec.created.year}{adcode[:2]}{prefecture_of(adcode)}"
        counters[prefix] = counters.get(prefix, 0) + 1
        spec.number = f"{prefix}{doy * 1000 + counters[prefix]:06d}"


# --- timeline ------------------------------------------------------------------------------------


def _finish(world: World, spec: Spec) -> None:
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
    rng = seeded_rng(0, "confirm", sid)
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
    rules = demo_rules()
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


# --- rendering ---------------------------------------------------------------------------------


def _export(world: World, day: date) -> tuple[dict, dict[str, Spec], list[dict]]:
    """The export of `day`: manifests with activity since the previous export
    (23:00 the day before), each as known at 23:00."""
    export_at = _export_time(day)
    since = _export_time(day - timedelta(days=1))
    manifests, statuses, approvals, rendered = [], [], {}, {}
    for offset in range(LOOKBACK_DAYS, -1, -1):
        for spec in _specs(world, day - timedelta(days=offset)):
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
        category = category_of(line["waste_code"])
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
