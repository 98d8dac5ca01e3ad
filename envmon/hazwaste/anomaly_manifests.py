"""Anomaly rules over each manifest's own record: its lifecycle deadlines and
event order (working-day deadlines from the configured calendar; "now" is
each manifest's `as_of`, never the wall clock), the quantities received
against those shipped, the manifest number, the waste codes and numbers used
twice. None of them reads an approval, a licence or the facility registry:
those rules are in anomaly_permits.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from envmon.core.timeutil import BEIJING
from envmon.hazwaste.anomaly_facts import EPS, Facts, finding_rows, per_manifest
from envmon.hazwaste.settings import Rules

# --- lifecycle deadlines -------------------------------------------------------------


def confirmation_late(f: Facts) -> pd.DataFrame:
    """Art. 18: receipt confirmed within N working days of the day of receipt."""
    m = f.manifests[f.manifests["received_at"].notna()]
    n = f.rules.confirm_within_working_days
    deadline = _deadlines(m["received_at"], n, f.rules)
    after = m["rejected_at"].where(m["rejected_at"] >= m["received_at"])
    decided = m["confirmed_at"].combine_first(after)
    late = (decided.notna() & (decided > deadline)) | (decided.isna() & (m["as_of"] > deadline))
    hit, deadline, decided = m[late], deadline[late], decided[late]
    detail = [
        f"received {_t(r)}; deadline {_t(d)} ({n} working days"
        f"{_note(r, d, f.rules)}); "
        + (f"confirmed {_t(c)}" if pd.notna(c) else f"not confirmed as of {_t(a)}")
        for r, d, c, a in zip(hit["received_at"], deadline, decided, hit["as_of"], strict=True)]
    return finding_rows(hit, "received_at;confirmed_at", detail)


def in_transit_too_long(f: Facts) -> pd.DataFrame:
    """Departed and never received nor rejected after N days: possible dumping."""
    m = f.manifests
    limit = timedelta(days=f.rules.in_transit_max_days)
    open_ = m["departed_at"].notna() & m["received_at"].isna() & m["rejected_at"].isna()
    hit = m[open_ & ((m["as_of"] - m["departed_at"]) > limit)]
    detail = [f"departed {_t(d)} (vehicle {v or '?'}), not received after "
              f"{(a - d).total_seconds() / 86400:.1f} days as of {_t(a)} "
              f"(limit {f.rules.in_transit_max_days:g} days)"
              for d, v, a in zip(hit["departed_at"], hit["vehicle_plate"], hit["as_of"],
                                 strict=True)]
    return finding_rows(hit, "departed_at;received_at", detail)


def paper_late_entry(f: Facts) -> pd.DataFrame:
    """Art. 20: a paper manifest is back-entered within N working days after
    the transfer is completed (taken as the receipt of the waste)."""
    m = f.manifests[(f.manifests["kind"] == "paper") & f.manifests["received_at"].notna()]
    n = f.rules.paper_entry_within_working_days
    deadline = _deadlines(m["received_at"], n, f.rules)
    late = m["entered_at"] > deadline
    hit, deadline = m[late], deadline[late]
    detail = [f"paper manifest received {_t(r)}, entered {_t(e)}; deadline {_t(d)} "
              f"({n} working days{_note(r, d, f.rules)})"
              for r, e, d in zip(hit["received_at"], hit["entered_at"], deadline, strict=True)]
    return finding_rows(hit, "kind;received_at;entered_at", detail)


def lifecycle_order(f: Facts) -> pd.DataFrame:
    """Events that break the allowed transitions (envmon/hazwaste/lifecycle.py)."""
    hit = f.manifests[f.manifests["violations"].str.len() > 0]
    return finding_rows(hit, "events", ["; ".join(v) for v in hit["violations"]])


def event_unknown_manifest(f: Facts) -> pd.DataFrame:
    """Art. 7: every transfer runs on a manifest; an event for a number that no
    delivery carried is either early or names a manifest that does not exist."""
    e = f.orphan_events
    detail = [f"{k} at {_t(a)} by {actor or '?'} (source {s}) names a manifest no delivery "
              "carried" for k, a, actor, s in zip(e["event_type"], e["at"], e["actor"],
                                                 e["source"], strict=True)]
    return finding_rows(e.assign(version=""), "manifest_no;event_type", detail)


# --- quantities ------------------------------------------------------------------------


def quantity_mismatch(f: Facts) -> pd.DataFrame:
    """Art. 18 para. 2: received quantity differs from the manifest."""
    rules = f.rules
    lines = f.lines[f.lines["received_t"].notna()]
    rejected = f.manifests.loc[f.manifests["rejected_at"].notna(), ["manifest_no", "version"]]
    lines = _anti_join(lines, rejected)
    diff = lines["received_t"] - lines["quantity_t"]
    tolerance = (lines["quantity_t"] * rules.quantity_tolerance_percent / 100).clip(
        lower=rules.quantity_tolerance_min_t)
    bad = lines[diff.abs() > tolerance + EPS]
    text = [f"line {n} {c}: shipped {q:.3f} t, received {r:.3f} t ({(r - q) / q:+.1%})"
            for n, c, q, r in zip(bad["line"], bad["waste_code"], bad["quantity_t"],
                                  bad["received_t"], strict=True)]
    return per_manifest(bad.assign(_text=text), "lines.quantity;lines.received_quantity",
                         suffix=f" (tolerance {rules.quantity_tolerance_percent:g}%, at least "
                                f"{rules.quantity_tolerance_min_t:g} t)")


# --- numbers and codes --------------------------------------------------------------------


def invalid_manifest_no(f: Facts) -> pd.DataFrame:
    """Art. 15: 14 digits = year (4) + province (2) + prefecture (2) of the
    移出地 (the shipper's place) + serial (6)."""
    m = f.manifests
    provinces = f.provinces.set_index("province_code")["municipality"]
    problems = []
    for no, adcode, created, entered in zip(m["manifest_no"], m["shipper_adcode"],
                                            m["created_at"], m["entered_at"], strict=True):
        problems.append(_number_problem(no, adcode, created, entered, provinces))
    hit = m[pd.Series([p is not None for p in problems], index=m.index, dtype=bool)]
    return finding_rows(hit, "manifest_no;shipper_adcode", [p for p in problems if p is not None])


def unknown_waste_code(f: Facts) -> pd.DataFrame:
    """名录: the code must be NNN-NNN-NN, in a category HW01-HW50 in use, and
    listed in the edition in force on the manifest's date."""
    bad = f.lines[~f.lines["code_known"]]
    text = [f"line {n} {c}: {why}" for n, c, why in
            zip(bad["line"], bad["waste_code"], bad["code_problem"], strict=True)]
    return per_manifest(bad.assign(_text=text), "lines.waste_code")


def duplicate_manifest_no(f: Facts) -> pd.DataFrame:
    """Art. 15: one number per manifest nationally. Versions of a number that no
    correction links (see manifest_state.py) are different manifests under one number."""
    m = f.manifests
    counts = m.groupby("manifest_no")["version"].transform("size")
    # The other versions in entry order: the detail (and the alert quoting it)
    # must not depend on the order the lake's files were read in.
    hit = m[counts > 1]
    ordered = hit.sort_values(["entered_at", "version"], kind="stable")
    detail = []
    for no, version in zip(hit["manifest_no"], hit["version"], strict=True):
        others = ordered[(ordered["manifest_no"] == no) & (ordered["version"] != version)]
        detail.append("; ".join(
            f"also version {o.version}: shipper {o.shipper_id}, entered {_t(o.entered_at)}, "
            f"{o.quantity_t:.3f} t to {o.receiver_id}" for o in others.itertuples()))
    return finding_rows(hit, "manifest_no;version", detail)


# --- helpers --------------------------------------------------------------------------------


def _anti_join(frame: pd.DataFrame, drop: pd.DataFrame) -> pd.DataFrame:
    keys = pd.MultiIndex.from_frame(frame[["manifest_no", "version"]])
    return frame[~keys.isin(pd.MultiIndex.from_frame(drop[["manifest_no", "version"]]))]


def _number_problem(no: str, adcode: str, created, entered, provinces: pd.Series
                    ) -> str | None:
    if not (len(no) == 14 and no.isdigit()):
        return f"{no!r} is not 14 digits"
    year, province, prefecture, serial = no[:4], no[4:6], no[6:8], no[8:]
    years = {str(t.tz_convert(BEIJING).year) for t in (created, entered) if pd.notna(t)}
    if year not in years:
        return f"year {year} is not the year of creation or entry ({', '.join(sorted(years))})"
    code = f"{province}0000"
    if code not in provinces.index:
        return f"province code {province} is not a province"
    # Municipalities (Beijing, Tianjin, Shanghai, Chongqing) have one
    # prefecture-level unit, 01 (市辖区).
    expected = "01" if provinces[code] else adcode[2:4]
    if (province, prefecture) != (adcode[:2], expected):
        return (f"province/prefecture {province}{prefecture} does not match the shipper's "
                f"location {adcode} (expected {adcode[:2]}{expected})")
    if serial == "000000":
        return "serial 000000"
    return None


def _deadlines(times: pd.Series, n: int, rules: Rules) -> pd.Series:
    """Working-day deadline for each time; computed once per distinct date."""
    cal = rules.calendar
    cache: dict[date, datetime] = {}
    out = []
    for at in times:
        day = at.tz_convert(BEIJING).date()
        if day not in cache:
            cache[day] = cal.deadline(datetime.combine(day, datetime.min.time(),
                                                       tzinfo=BEIJING), n)
        out.append(cache[day])
    return pd.Series(pd.to_datetime(out, utc=True), index=times.index,
                     dtype="datetime64[us, UTC]").dt.tz_convert(BEIJING)


def _note(start, end, rules: Rules) -> str:
    first = start.tz_convert(BEIJING).date()
    last = end.tz_convert(BEIJING).date()
    if rules.calendar.covers(first, last):
        return ""
    return "; holidays not configured for part of this period, weekends only"


def _t(value) -> str:
    if value is None or pd.isna(value):
        return "?"
    stamp = pd.Timestamp(value).tz_convert(BEIJING)
    if stamp.hour == 0 and stamp.minute == 0 and stamp.second == 0:
        return f"{(stamp - timedelta(days=1)).date()} 24:00"
    return stamp.strftime("%Y-%m-%d %H:%M")
