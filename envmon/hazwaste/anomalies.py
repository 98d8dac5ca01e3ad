"""The anomaly rules, one function per rule, over every stored manifest.

Each rule takes the Facts of one run (current manifest versions with their
lifecycle state, their lines, the reference registries, the rules from
config/hazwaste.yaml) and returns one row per manifest version it finds
wrong: manifest_no, version, the fields it rests on, and a detail that
quotes the values. `detect()` adds the anomaly kind, its severity
(config/hazwaste.yaml) and the article it rests on
(reference/hazwaste/anomaly_rules.csv).

"Now" is each manifest's `as_of` (the export time of the latest delivery
that carried it, or the --as-of given), never the wall clock, so the same
lake gives the same anomalies.

A rule that needs a fact another rule found missing does not guess: an
unregistered receiver is reported as unregistered, not as unlicensed; an
unknown waste code is reported once and the licence and approval rules skip
that line.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from envmon.core.timeutil import BEIJING
from envmon.hazwaste.reference import split_list
from envmon.hazwaste.settings import Rules

OUT_COLUMNS = ("manifest_no", "version", "fields", "detail")
_EPS = 1e-9


@dataclass
class Facts:
    """What the rules look at. Times are tz-aware (Beijing)."""

    manifests: pd.DataFrame  # current versions: header, state times, geography, as_of
    lines: pd.DataFrame  # lines of those versions, with category, code_known
    orphan_events: pd.DataFrame  # status updates naming no stored manifest
    approvals: pd.DataFrame  # effective approvals (delivered over reference)
    facilities: pd.DataFrame
    whitelist: pd.DataFrame
    provinces: pd.DataFrame
    rules: Rules
    # Cross-province manifests joined to their approvals: five rules read it.
    _approval_matches: pd.DataFrame | None = None


Rule = Callable[[Facts], pd.DataFrame]


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
    return _out(hit, "received_at;confirmed_at", detail)


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
    return _out(hit, "departed_at;received_at", detail)


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
    return _out(hit, "kind;received_at;entered_at", detail)


def lifecycle_order(f: Facts) -> pd.DataFrame:
    """Events that break the allowed transitions (envmon/hazwaste/lifecycle.py)."""
    hit = f.manifests[f.manifests["violations"].str.len() > 0]
    return _out(hit, "events", ["; ".join(v) for v in hit["violations"]])


def event_unknown_manifest(f: Facts) -> pd.DataFrame:
    """Art. 7: every transfer runs on a manifest; an event for a number that no
    delivery carried is either early or names a manifest that does not exist."""
    e = f.orphan_events
    detail = [f"{k} at {_t(a)} by {actor or '?'} (source {s}) names a manifest no delivery "
              "carried" for k, a, actor, s in zip(e["event_type"], e["at"], e["actor"],
                                                 e["source"], strict=True)]
    return _out(e.assign(version=""), "manifest_no;event_type", detail)


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
    bad = lines[diff.abs() > tolerance + _EPS]
    text = [f"line {n} {c}: shipped {q:.3f} t, received {r:.3f} t ({(r - q) / q:+.1%})"
            for n, c, q, r in zip(bad["line"], bad["waste_code"], bad["quantity_t"],
                                  bad["received_t"], strict=True)]
    return _per_manifest(bad.assign(_text=text), "lines.quantity;lines.received_quantity",
                         suffix=f" (tolerance {rules.quantity_tolerance_percent:g}%, at least "
                                f"{rules.quantity_tolerance_min_t:g} t)")


# --- cross-province transfers -------------------------------------------------------------


def xprov_no_approval(f: Facts) -> pd.DataFrame:
    """Art. 21: a cross-province transfer needs the origin province's approval."""
    m = _approval_matches(f)
    hit = m[m["_approval_problem"].notna()]
    return _out(hit, "approval_no;shipper_adcode;receiver_adcode", hit["_approval_problem"])


def xprov_approval_expired(f: Facts) -> pd.DataFrame:
    """Art. 26: an approval is valid up to 12 months (its dates); white-list
    approvals: the transport done within N days of the approval."""
    m = _approved(f)
    days = f.rules.whitelist_transport_days
    window_end = m["valid_to"].where(
        ~m["whitelist"],
        pd.concat([m["valid_to"], m["valid_from"] + pd.to_timedelta(days, unit="D")],
                  axis=1).min(axis=1))
    bad = (m["_ship_date"] < m["valid_from"]) | (m["_ship_date"] > window_end)
    hit, window_end = m[bad], window_end[bad]
    detail = [f"shipped {s.date()}, approval {a} valid {vf.date()} to {we.date()}"
              + (f" (white list: transport within {days} days of approval)" if w else "")
              for s, a, vf, we, w in zip(hit["_ship_date"], hit["approval_no"],
                                         hit["valid_from"], window_end, hit["whitelist"],
                                         strict=True)]
    return _out(hit, "approval_no;departed_at", detail)


def xprov_receiver_not_approved(f: Facts) -> pd.DataFrame:
    """Art. 26-27: the approval names the receiver; another one needs a new approval."""
    m = _approved(f)
    hit = m[m["receiver_id"] != m["approved_receiver"]]
    detail = [f"approval {a} is for receiver {ar}, the waste went to {r}"
              for a, ar, r in zip(hit["approval_no"], hit["approved_receiver"],
                                  hit["receiver_id"], strict=True)]
    return _out(hit, "approval_no;receiver_id", detail)


def xprov_code_not_approved(f: Facts) -> pd.DataFrame:
    """Art. 27(1): a waste type the approval does not cover needs a new approval."""
    m = _approved(f)[["manifest_no", "version", "approval_no", "waste_codes"]]
    lines = _known_lines(f).merge(m, on=["manifest_no", "version"])
    covered = [_covers(w, c, cat) for w, c, cat in
               zip(lines["waste_codes"], lines["waste_code"], lines["category"], strict=True)]
    bad = lines[~pd.Series(covered, index=lines.index, dtype=bool)]
    text = [f"line {n} {c} not in approval {a} ({w})" for n, c, a, w in
            zip(bad["line"], bad["waste_code"], bad["approval_no"], bad["waste_codes"],
                strict=True)]
    return _per_manifest(bad.assign(_text=text), "approval_no;lines.waste_code")


def xprov_tonnes_exceeded(f: Facts) -> pd.DataFrame:
    """Art. 27(1): shipments under one approval, added up in shipping order,
    may not exceed the approved tonnes."""
    return _tonnes_exceeded(_tonnes_inputs(f))


def _tonnes_inputs(f: Facts) -> pd.DataFrame:
    return _approved(f)[["manifest_no", "version", "approval_no", "_ship_at", "quantity_t",
                         "approved_tonnes"]]


def _tonnes_exceeded(m: pd.DataFrame) -> pd.DataFrame:
    m = m.sort_values(["approval_no", "_ship_at", "manifest_no", "version"])
    m["_cumulative"] = m.groupby("approval_no")["quantity_t"].cumsum()
    hit = m[m["_cumulative"] > m["approved_tonnes"] + _EPS]
    detail = [f"approval {a}: cumulative {c:.3f} t > approved {t:g} t (this shipment {q:.3f} t)"
              for a, c, t, q in zip(hit["approval_no"], hit["_cumulative"],
                                    hit["approved_tonnes"], hit["quantity_t"], strict=True)]
    return _out(hit, "approval_no;quantity_t", detail)


def whitelist_not_listed(f: Facts) -> pd.DataFrame:
    """YRD white list: a white-list approval is only for listed receivers and
    waste classes (entries valid on the shipping date)."""
    m = _approved(f)
    m = m[m["whitelist"]][["manifest_no", "version", "receiver_id", "_ship_date"]]
    lines = _known_lines(f).merge(m, on=["manifest_no", "version"])
    wl = f.whitelist
    listed = []
    for receiver, code, category, day in zip(lines["receiver_id"], lines["waste_code"],
                                             lines["category"], lines["_ship_date"],
                                             strict=True):
        rows = wl[(wl["receiver_id"] == receiver) & wl["waste_class"].isin([code, category])]
        listed.append(bool(((rows["valid_from"] <= day.date())
                            & (rows["valid_to"] >= day.date())).any()))
    bad = lines[~pd.Series(listed, index=lines.index, dtype=bool)]
    text = [f"line {n}: receiver {r} is not on the white list for {c} ({cat}) on {d.date()}"
            for n, r, c, cat, d in zip(bad["line"], bad["receiver_id"], bad["waste_code"],
                                       bad["category"], bad["_ship_date"], strict=True)]
    return _per_manifest(bad.assign(_text=text), "approval_no;receiver_id;lines.waste_code")


# --- receivers and facilities -----------------------------------------------------------


def facility_unregistered(f: Facts) -> pd.DataFrame:
    """A shipper, carrier or receiver the registry does not know: its licence
    and permits cannot be checked (never folded into "not licensed")."""
    m = f.manifests
    found = []
    for role in ("shipper", "carrier", "receiver"):
        known = set(f.facilities.loc[f.facilities["role"] == role, "facility_id"])
        missing = ~m[f"{role}_id"].isin(known)
        found.append(pd.DataFrame({
            "manifest_no": m.loc[missing, "manifest_no"], "version": m.loc[missing, "version"],
            "_field": f"{role}_id",
            "_text": [f"{role} {i} is not in the facility registry as a {role}"
                      for i in m.loc[missing, f"{role}_id"]]}))
    rows = pd.concat(found, ignore_index=True)
    if rows.empty:
        return _empty()
    grouped = rows.groupby(["manifest_no", "version"], sort=False).agg(
        fields=("_field", ";".join), detail=("_text", "; ".join)).reset_index()
    return grouped[list(OUT_COLUMNS)]


def receiver_not_licensed(f: Facts) -> pd.DataFrame:
    """Solid Waste Law Art. 80: a receiver handles only what its licence covers."""
    receivers = _receivers(f)[["facility_id", "licensed", "licence_no"]]
    lines = _known_lines(f).merge(f.manifests[["manifest_no", "version", "receiver_id"]],
                                  on=["manifest_no", "version"])
    lines = lines.merge(receivers, left_on="receiver_id", right_on="facility_id")
    covered = [_covers(lic, c, cat) for lic, c, cat in
               zip(lines["licensed"], lines["waste_code"], lines["category"], strict=True)]
    bad = lines[~pd.Series(covered, index=lines.index, dtype=bool)]
    text = [f"line {n} {c} ({cat}) not covered by licence {ln} of {r}"
            for n, c, cat, ln, r in zip(bad["line"], bad["waste_code"], bad["category"],
                                        bad["licence_no"], bad["receiver_id"], strict=True)]
    return _per_manifest(bad.assign(_text=text), "receiver_id;lines.waste_code")


def receiver_licence_expired(f: Facts) -> pd.DataFrame:
    """The receiver's licence must be valid on the transfer date (receipt,
    else departure, else entry)."""
    m = f.manifests.merge(_receivers(f), left_on="receiver_id", right_on="facility_id")
    day = _day(m["received_at"].combine_first(m["departed_at"]).combine_first(m["entered_at"]))
    bad = (day < m["licence_valid_from"]) | (day > m["licence_valid_to"])
    hit, day = m[bad], day[bad]
    detail = [f"licence {ln} of {r} valid {vf} to {vt}; transfer on {d}"
              for ln, r, vf, vt, d in zip(hit["licence_no"], hit["receiver_id"],
                                          hit["licence_valid_from"], hit["licence_valid_to"],
                                          day, strict=True)]
    return _out(hit, "receiver_id;received_at", detail)


def receiver_capacity_exceeded(f: Facts) -> pd.DataFrame:
    """The licence's annual capacity (年经营规模): tonnes accepted in a calendar
    year, added up in order of receipt. Only transfers in the lake count, so
    this is a lower bound of the real intake."""
    return _capacity_exceeded(_capacity_inputs(f))


def _capacity_inputs(f: Facts) -> pd.DataFrame:
    m = f.manifests[f.manifests["received_at"].notna() & f.manifests["rejected_at"].isna()]
    m = m.merge(_receivers(f), left_on="receiver_id", right_on="facility_id")
    m = m.assign(_year=m["received_at"].dt.tz_convert(BEIJING).dt.year,
                 _intake=m["received_t"].fillna(m["quantity_t"]))
    return m[["manifest_no", "version", "receiver_id", "_year", "received_at", "_intake",
              "annual_capacity_t"]]


def _capacity_exceeded(m: pd.DataFrame) -> pd.DataFrame:
    m = m.sort_values(["receiver_id", "_year", "received_at", "manifest_no", "version"])
    m["_cumulative"] = m.groupby(["receiver_id", "_year"])["_intake"].cumsum()
    hit = m[m["_cumulative"] > m["annual_capacity_t"] + _EPS]
    detail = [f"{r} accepted {c:.3f} t in {y} up to this receipt > licensed {cap:g} t/a"
              for r, c, y, cap in zip(hit["receiver_id"], hit["_cumulative"], hit["_year"],
                                      hit["annual_capacity_t"], strict=True)]
    return _out(hit, "receiver_id;received_t", detail)


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
    return _out(hit, "manifest_no;shipper_adcode", [p for p in problems if p is not None])


def unknown_waste_code(f: Facts) -> pd.DataFrame:
    """名录: the code must be NNN-NNN-NN, in a category HW01-HW50 in use, and
    listed in the edition in force on the manifest's date."""
    bad = f.lines[~f.lines["code_known"]]
    text = [f"line {n} {c}: {why}" for n, c, why in
            zip(bad["line"], bad["waste_code"], bad["code_problem"], strict=True)]
    return _per_manifest(bad.assign(_text=text), "lines.waste_code")


def duplicate_manifest_no(f: Facts) -> pd.DataFrame:
    """Art. 15: one number per manifest nationally. Versions of a number that no
    correction links (see derive.py) are different manifests under one number."""
    m = f.manifests
    counts = m.groupby("manifest_no")["version"].transform("size")
    hit = m[counts > 1]
    detail = []
    for no, version in zip(hit["manifest_no"], hit["version"], strict=True):
        others = hit[(hit["manifest_no"] == no) & (hit["version"] != version)]
        detail.append("; ".join(
            f"also version {o.version}: shipper {o.shipper_id}, entered {_t(o.entered_at)}, "
            f"{o.quantity_t:.3f} t to {o.receiver_id}" for o in others.itertuples()))
    return _out(hit, "manifest_no;version", detail)


RULES: dict[str, Rule] = {
    "confirmation_late": confirmation_late,
    "in_transit_too_long": in_transit_too_long,
    "quantity_mismatch": quantity_mismatch,
    "xprov_no_approval": xprov_no_approval,
    "xprov_approval_expired": xprov_approval_expired,
    "xprov_receiver_not_approved": xprov_receiver_not_approved,
    "xprov_code_not_approved": xprov_code_not_approved,
    "xprov_tonnes_exceeded": xprov_tonnes_exceeded,
    "whitelist_not_listed": whitelist_not_listed,
    "receiver_not_licensed": receiver_not_licensed,
    "receiver_licence_expired": receiver_licence_expired,
    "receiver_capacity_exceeded": receiver_capacity_exceeded,
    "facility_unregistered": facility_unregistered,
    "invalid_manifest_no": invalid_manifest_no,
    "unknown_waste_code": unknown_waste_code,
    "duplicate_manifest_no": duplicate_manifest_no,
    "paper_late_entry": paper_late_entry,
    "lifecycle_order": lifecycle_order,
    "event_unknown_manifest": event_unknown_manifest,
}


# Rules that add up shipments across manifests (per approval; per receiver and
# year). A refresh that works on part of the manifests at a time gathers their
# inputs (narrow rows, one per current version) from every part and runs the
# check once over all of them: kind -> (inputs from Facts, check over inputs).
CUMULATIVE: dict[str, tuple[Callable[[Facts], pd.DataFrame],
                            Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "xprov_tonnes_exceeded": (_tonnes_inputs, _tonnes_exceeded),
    "receiver_capacity_exceeded": (_capacity_inputs, _capacity_exceeded),
}


def detect(f: Facts, basis: pd.DataFrame, skip: Collection[str] = ()) -> pd.DataFrame:
    """Every rule (but those in `skip`) over the facts: manifest_no, version,
    anomaly, severity, rule, fields, detail. `basis` maps each anomaly to its article."""
    return labelled({kind: rule(f) for kind, rule in RULES.items() if kind not in skip},
                    f.rules, basis)


def labelled(found: dict[str, pd.DataFrame], rules: Rules, basis: pd.DataFrame
             ) -> pd.DataFrame:
    """Rule outputs (kind -> rows) as one frame with each row's kind, severity and article."""
    articles = dict(zip(basis["anomaly"], basis["basis"], strict=True))
    frames = []
    for kind, rows in found.items():
        if rows.empty:
            continue
        frames.append(rows.assign(anomaly=kind, severity=rules.severities.get(kind, "medium"),
                                  rule=articles.get(kind, "")))
    if not frames:
        return pd.DataFrame(columns=["manifest_no", "version", "anomaly", "severity", "rule",
                                     "fields", "detail"])
    out = pd.concat(frames, ignore_index=True)
    return out[["manifest_no", "version", "anomaly", "severity", "rule", "fields", "detail"]]


# --- helpers --------------------------------------------------------------------------------


def _out(frame: pd.DataFrame, fields: str, detail) -> pd.DataFrame:
    return pd.DataFrame({"manifest_no": frame["manifest_no"].to_numpy(),
                         "version": frame["version"].to_numpy(), "fields": fields,
                         "detail": list(detail)}, columns=list(OUT_COLUMNS))


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(OUT_COLUMNS))


def _per_manifest(lines: pd.DataFrame, fields: str, suffix: str = "") -> pd.DataFrame:
    """Line findings -> one row per manifest version, details joined."""
    if lines.empty:
        return _empty()
    grouped = lines.groupby(["manifest_no", "version"], sort=False)["_text"].agg(
        "; ".join).reset_index()
    return pd.DataFrame({"manifest_no": grouped["manifest_no"], "version": grouped["version"],
                         "fields": fields, "detail": grouped["_text"] + suffix})


def _anti_join(frame: pd.DataFrame, drop: pd.DataFrame) -> pd.DataFrame:
    keys = pd.MultiIndex.from_frame(frame[["manifest_no", "version"]])
    return frame[~keys.isin(pd.MultiIndex.from_frame(drop[["manifest_no", "version"]]))]


def _known_lines(f: Facts) -> pd.DataFrame:
    return f.lines[f.lines["code_known"]]


def _receivers(f: Facts) -> pd.DataFrame:
    return f.facilities[f.facilities["role"] == "receiver"]


def _covers(entries: str, code: str, category: str) -> bool:
    listed = split_list(entries)
    return code in listed or category in listed


def _ship_at(m: pd.DataFrame) -> pd.Series:
    return m["departed_at"].combine_first(m["created_at"]).combine_first(m["entered_at"])


def _approval_matches(f: Facts) -> pd.DataFrame:
    """Cross-province manifests joined to their approval, with the reason the
    approval does not cover them (None when it does); computed once per Facts."""
    if f._approval_matches is None:
        f._approval_matches = _match_approvals(f)
    return f._approval_matches


def _match_approvals(f: Facts) -> pd.DataFrame:
    m = f.manifests[f.manifests["cross_province"]].copy()
    a = f.approvals.rename(columns={"shipper_id": "approved_shipper",
                                    "receiver_id": "approved_receiver",
                                    "origin_province": "approved_origin",
                                    "dest_province": "approved_dest"})
    m = m.merge(a, on="approval_no", how="left")
    problems = []
    for row in m.itertuples():
        if pd.isna(row.approval_no):
            problems.append(f"{row.origin_province_code} -> {row.dest_province_code} "
                            "with no approval number")
        elif pd.isna(row.approved_shipper):
            problems.append(f"approval {row.approval_no} is not known (delivered or in "
                            "reference/hazwaste/approvals.csv)")
        elif row.approved_shipper != row.shipper_id:
            problems.append(f"approval {row.approval_no} was granted to shipper "
                            f"{row.approved_shipper}, not {row.shipper_id}")
        elif (row.approved_origin, row.approved_dest) != (row.origin_province_code,
                                                         row.dest_province_code):
            problems.append(f"approval {row.approval_no} covers {row.approved_origin} -> "
                            f"{row.approved_dest}, this transfer is "
                            f"{row.origin_province_code} -> {row.dest_province_code}")
        else:
            problems.append(None)
    m["_approval_problem"] = pd.Series(problems, index=m.index, dtype=object)
    m["whitelist"] = m["whitelist"].eq(True)
    m["_ship_at"] = _ship_at(m)
    m["_ship_date"] = m["_ship_at"].dt.tz_convert(BEIJING).dt.tz_localize(None).dt.normalize()
    for column in ("valid_from", "valid_to"):
        m[column] = pd.to_datetime(m[column])
    return m


def _approved(f: Facts) -> pd.DataFrame:
    """Cross-province manifests whose approval exists and is theirs."""
    m = _approval_matches(f)
    return m[m["_approval_problem"].isna()]


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


def _day(times: pd.Series) -> pd.Series:
    return times.dt.tz_convert(BEIJING).dt.date


def _t(value) -> str:
    if value is None or pd.isna(value):
        return "?"
    stamp = pd.Timestamp(value).tz_convert(BEIJING)
    if stamp.hour == 0 and stamp.minute == 0 and stamp.second == 0:
        return f"{(stamp - timedelta(days=1)).date()} 24:00"
    return stamp.strftime("%Y-%m-%d %H:%M")
