"""Anomaly rules about who may ship what where: cross-province approvals and
the YRD white list, the receivers' licences (scope, validity, annual
capacity) and the facility registry. A rule that needs a fact another rule
found missing does not guess: an unregistered receiver is reported as
unregistered, not as unlicensed; an unknown waste code is reported once (by
unknown_waste_code) and the licence and approval rules skip that line. The
two rules that add up shipments across manifests also offer their inputs and
checks apart, for a refresh that runs them over every bucket at once
(anomalies.CUMULATIVE).
"""

from __future__ import annotations

import pandas as pd

from envmon.core.timeutil import BEIJING
from envmon.hazwaste.anomaly_facts import (
    EPS,
    OUT_COLUMNS,
    Facts,
    finding_rows,
    no_findings,
    per_manifest,
)
from envmon.hazwaste.reference import split_list

# --- cross-province transfers -------------------------------------------------------------


def xprov_no_approval(f: Facts) -> pd.DataFrame:
    """Art. 21: a cross-province transfer needs the origin province's approval."""
    m = _approval_matches(f)
    hit = m[m["_approval_problem"].notna()]
    return finding_rows(hit, "approval_no;shipper_adcode;receiver_adcode", hit["_approval_problem"])


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
    return finding_rows(hit, "approval_no;departed_at", detail)


def xprov_receiver_not_approved(f: Facts) -> pd.DataFrame:
    """Art. 26-27: the approval names the receiver; another one needs a new approval."""
    m = _approved(f)
    hit = m[m["receiver_id"] != m["approved_receiver"]]
    detail = [f"approval {a} is for receiver {ar}, the waste went to {r}"
              for a, ar, r in zip(hit["approval_no"], hit["approved_receiver"],
                                  hit["receiver_id"], strict=True)]
    return finding_rows(hit, "approval_no;receiver_id", detail)


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
    return per_manifest(bad.assign(_text=text), "approval_no;lines.waste_code")


def xprov_tonnes_exceeded(f: Facts) -> pd.DataFrame:
    """Art. 27(1): shipments under one approval, added up in shipping order,
    may not exceed the approved tonnes."""
    return tonnes_exceeded(tonnes_inputs(f))


def tonnes_inputs(f: Facts) -> pd.DataFrame:
    return _approved(f)[["manifest_no", "version", "approval_no", "_ship_at", "quantity_t",
                         "approved_tonnes"]]


def tonnes_exceeded(m: pd.DataFrame) -> pd.DataFrame:
    m = m.sort_values(["approval_no", "_ship_at", "manifest_no", "version"])
    m["_cumulative"] = m.groupby("approval_no")["quantity_t"].cumsum()
    hit = m[m["_cumulative"] > m["approved_tonnes"] + EPS]
    detail = [f"approval {a}: cumulative {c:.3f} t > approved {t:g} t (this shipment {q:.3f} t)"
              for a, c, t, q in zip(hit["approval_no"], hit["_cumulative"],
                                    hit["approved_tonnes"], hit["quantity_t"], strict=True)]
    return finding_rows(hit, "approval_no;quantity_t", detail)


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
    return per_manifest(bad.assign(_text=text), "approval_no;receiver_id;lines.waste_code")


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
        return no_findings()
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
    return per_manifest(bad.assign(_text=text), "receiver_id;lines.waste_code")


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
    return finding_rows(hit, "receiver_id;received_at", detail)


def receiver_capacity_exceeded(f: Facts) -> pd.DataFrame:
    """The licence's annual capacity (年经营规模): tonnes accepted in a calendar
    year, added up in order of receipt. Only transfers in the lake count, so
    this is a lower bound of the real intake."""
    return capacity_exceeded(capacity_inputs(f))


def capacity_inputs(f: Facts) -> pd.DataFrame:
    m = f.manifests[f.manifests["received_at"].notna() & f.manifests["rejected_at"].isna()]
    m = m.merge(_receivers(f), left_on="receiver_id", right_on="facility_id")
    m = m.assign(_year=m["received_at"].dt.tz_convert(BEIJING).dt.year,
                 _intake=m["received_t"].fillna(m["quantity_t"]))
    return m[["manifest_no", "version", "receiver_id", "_year", "received_at", "_intake",
              "annual_capacity_t"]]


def capacity_exceeded(m: pd.DataFrame) -> pd.DataFrame:
    m = m.sort_values(["receiver_id", "_year", "received_at", "manifest_no", "version"])
    m["_cumulative"] = m.groupby(["receiver_id", "_year"])["_intake"].cumsum()
    hit = m[m["_cumulative"] > m["annual_capacity_t"] + EPS]
    detail = [f"{r} accepted {c:.3f} t in {y} up to this receipt > licensed {cap:g} t/a"
              for r, c, y, cap in zip(hit["receiver_id"], hit["_cumulative"], hit["_year"],
                                      hit["annual_capacity_t"], strict=True)]
    return finding_rows(hit, "receiver_id;received_t", detail)


# --- helpers --------------------------------------------------------------------------------


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


def _day(times: pd.Series) -> pd.Series:
    return times.dt.tz_convert(BEIJING).dt.date
