"""The anomaly rules by kind, and the runner that labels their findings.

Each rule takes the Facts of one run (current manifest versions with their
lifecycle state, their lines, the reference registries, the rules from
config/hazwaste.yaml) and returns one row per manifest version it finds
wrong: manifest_no, version, the fields it rests on, and a detail that
quotes the values. `detect()` adds the anomaly kind, its severity
(config/hazwaste.yaml) and the article it rests on
(reference/hazwaste/anomaly_rules.csv).

The rules themselves are one function each: those over a manifest's own
record (deadlines, event order, quantities, number, codes) in
anomaly_manifests.py, those about approvals, licences and the facility
registry in anomaly_permits.py; Facts and the row shaping they share in
anomaly_facts.py.

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

import pandas as pd

from envmon.hazwaste.anomaly_facts import Facts, Rule
from envmon.hazwaste.anomaly_manifests import (
    confirmation_late,
    duplicate_manifest_no,
    event_unknown_manifest,
    in_transit_too_long,
    invalid_manifest_no,
    lifecycle_order,
    paper_late_entry,
    quantity_mismatch,
    unknown_waste_code,
)
from envmon.hazwaste.anomaly_permits import (
    capacity_exceeded,
    capacity_inputs,
    facility_unregistered,
    receiver_capacity_exceeded,
    receiver_licence_expired,
    receiver_not_licensed,
    tonnes_exceeded,
    tonnes_inputs,
    whitelist_not_listed,
    xprov_approval_expired,
    xprov_code_not_approved,
    xprov_no_approval,
    xprov_receiver_not_approved,
    xprov_tonnes_exceeded,
)
from envmon.hazwaste.settings import Rules

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
    "xprov_tonnes_exceeded": (tonnes_inputs, tonnes_exceeded),
    "receiver_capacity_exceeded": (capacity_inputs, capacity_exceeded),
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
