"""The state of every stored manifest version, and the Facts the anomaly rules
read, for one bucket of numbers. The same version delivered by several
sources (the origin and the destination province both export a
cross-province manifest) is one manifest: header and lines from the copy
with the latest export, events from all copies (the same type at the same
instant counted once). A version is superseded when another version of the
number carries a `corrected` event at or after this version's last event:
the correction replaced it. Versions nothing supersedes are current; two
current versions of one number are the duplicated-number anomaly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from envmon.core.timeutil import BEIJING, BEIJING_TZ_NAME
from envmon.hazwaste import reference, schema
from envmon.hazwaste.anomaly_facts import Facts
from envmon.hazwaste.buckets import KEY, Bucket, read_dataset
from envmon.hazwaste.lifecycle import replay
from envmon.hazwaste.reference import WASTE_CODE_RE
from envmon.hazwaste.settings import Rules


@dataclass(frozen=True)
class Shared:
    """What every bucket reads the same: rules, "now", approvals."""

    rules: Rules
    as_of: datetime | None
    source_as_of: dict
    approvals: pd.DataFrame


def build(shared: Shared, bucket: Bucket | None = None) -> tuple[pd.DataFrame, Facts]:
    """The state of every stored manifest version (of the bucket's numbers, if
    given), and the facts the rules read."""
    manifests = read_dataset(schema.MANIFESTS, bucket)
    lines = read_dataset(schema.LINES, bucket)
    events = read_dataset(schema.EVENTS, bucket)
    rules, as_of, source_as_of = shared.rules, shared.as_of, shared.source_as_of

    copies = manifests.assign(_as_of=_lookup(manifests["source"], source_as_of))
    copies = copies.sort_values(["exported_at", "source"], ascending=[False, True])
    chosen = copies.drop_duplicates(KEY).copy()
    per_version = copies.groupby(KEY).agg(
        sources=("source", lambda s: ";".join(sorted(set(s)))), _as_of=("_as_of", "max"))
    chosen = chosen.drop(columns="_as_of").merge(per_version, on=KEY, how="left")
    chosen["as_of"] = (_lookup(chosen["source"], {}, as_of) if as_of is not None
                       else chosen["_as_of"])
    chosen = chosen.drop(columns="_as_of")

    nested = events[events["version"] != ""].drop_duplicates([*KEY, "event_type", "at"])
    status = events[events["version"] == ""].drop_duplicates(["manifest_no", "event_type",
                                                              "at"])
    state = _lifecycle(chosen, nested, status)
    state = _supersede(state)
    state = _geography(state, reference.load("provinces"))

    current = state[state["current"]]
    line_rows = lines.merge(current[[*KEY, "source", "entered_at"]], on=[*KEY, "source"])
    line_rows = _classify_codes(line_rows, rules)

    # A number's status events are in its bucket: the bucket's numbers suffice.
    known_numbers = set(manifests["manifest_no"])
    orphans = status[~status["manifest_no"].isin(known_numbers)].copy()
    orphans["version"] = ""
    orphans["as_of"] = _lookup(orphans["source"], source_as_of, as_of)

    facts = Facts(manifests=current.reset_index(drop=True), lines=line_rows,
                  orphan_events=orphans, approvals=shared.approvals,
                  facilities=reference.load("facilities"), whitelist=reference.load("whitelist"),
                  provinces=reference.load("provinces"), rules=rules)
    return state, facts


def _lookup(sources: pd.Series, table: dict, override: datetime | None = None) -> pd.Series:
    """Each row's "now": `override`, else its source's latest export time."""
    values = [override if override is not None else table.get(s) for s in sources]
    return pd.Series(pd.to_datetime(values, utc=True), index=sources.index,
                     dtype="datetime64[us, UTC]").dt.tz_convert(BEIJING_TZ_NAME)


def _lifecycle(chosen: pd.DataFrame, nested: pd.DataFrame, status: pd.DataFrame
               ) -> pd.DataFrame:
    """Replay each version's events (its own, plus status updates for its number)."""
    own: dict[tuple[str, str], list] = {}
    for no, version, kind, at in zip(nested["manifest_no"], nested["version"],
                                     nested["event_type"], nested["at"], strict=True):
        own.setdefault((no, version), []).append((kind, at.to_pydatetime()))
    updates: dict[str, list] = {}
    for no, kind, at in zip(status["manifest_no"], status["event_type"], status["at"],
                            strict=True):
        updates.setdefault(no, []).append((kind, at.to_pydatetime()))
    rows = []
    for no, version, entered in zip(chosen["manifest_no"], chosen["version"],
                                    chosen["entered_at"], strict=True):
        mine = own.get((no, version), [])
        merged = list(dict.fromkeys(mine + updates.get(no, [])))
        result = replay(merged)
        rows.append({
            "state": result.state, "violations": result.violations,
            **{f"{kind}_at": result.first.get(kind) for kind in schema.EVENT_TYPES},
            "last_event_at": max((at for _, at in merged), default=None),
            # For supersession: what this version itself recorded.
            "_own_last": max((at for _, at in mine), default=entered.to_pydatetime()),
            "events": len(merged), "lifecycle_violations": len(result.violations)})
    times = [*(f"{k}_at" for k in schema.EVENT_TYPES), "last_event_at", "_own_last"]
    out = pd.DataFrame(rows, index=chosen.index,
                       columns=["state", "violations", *times, "events",
                                "lifecycle_violations"])
    for column in times:
        out[column] = pd.to_datetime(out[column], utc=True).dt.tz_convert(BEIJING_TZ_NAME)
    return pd.concat([chosen, out], axis=1)


def _supersede(state: pd.DataFrame) -> pd.DataFrame:
    """Mark versions replaced by a later correction (see the module docstring)."""
    state["superseded_by"] = None
    multi = state[state.groupby("manifest_no")["version"].transform("size") > 1]
    for _, group in multi.groupby("manifest_no"):
        for index, row in group.iterrows():
            later = group[(group["version"] != row["version"])
                          & group["corrected_at"].notna()
                          & (group["corrected_at"] >= row["_own_last"])]
            if not later.empty:
                state.at[index, "superseded_by"] = later.sort_values("corrected_at")[
                    "version"].iloc[-1]
    state["current"] = state["superseded_by"].isna()
    return state.drop(columns="_own_last")


def _geography(state: pd.DataFrame, provinces: pd.DataFrame) -> pd.DataFrame:
    """Province and prefecture-level city of each end (GB/T 2260: NN NN NN),
    with English names (cities: the region's, from reference/common/cities.csv)."""
    from envmon.core.reference import load_cities

    municipal = set(provinces.loc[provinces["municipality"], "province_code"])
    province_names = dict(zip(provinces["province_code"], provinces["name_en"], strict=True))
    cities = load_cities()
    city_names = dict(zip(cities["city_code"], cities["name_en"], strict=True))
    for end, column in (("origin", "shipper_adcode"), ("dest", "receiver_adcode")):
        province = state[column].str[:2] + "0000"
        state[f"{end}_province_code"] = province
        state[f"{end}_city_code"] = province.where(province.isin(municipal),
                                                   state[column].str[:4] + "00")
        state[f"{end}_province"] = province.map(province_names)
        state[f"{end}_city"] = state[f"{end}_city_code"].map(city_names)
    state["cross_province"] = state["origin_province_code"] != state["dest_province_code"]
    return state


def _classify_codes(lines: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """category (HWnn from the last two digits), code_known, code_problem."""
    codes = reference.load("waste_codes")
    categories = reference.load("categories")
    in_use = set(categories.loc[categories["in_use"], "category"])
    editions = {c: set(reference.split_list(e)) for c, e in
                zip(codes["waste_code"], codes["editions"], strict=True)}
    problems = []
    for code, entered in zip(lines["waste_code"], lines["entered_at"], strict=True):
        day = entered.tz_convert(BEIJING).date()
        edition = rules.edition_on(day)
        if not WASTE_CODE_RE.match(code):
            problems.append("not a code of the form NNN-NNN-NN")
        elif f"HW{code[-2:]}" not in in_use:
            problems.append(f"category HW{code[-2:]} is not a category of the list")
        elif edition is None:
            problems.append(f"no edition of the list configured for {day}")
        elif edition.edition not in editions.get(code, set()):
            problems.append(f"not in the {edition.edition} edition of the list "
                            "(reference/hazwaste/waste_codes.csv)")
        else:
            problems.append(None)
    lines = lines.copy()
    lines["code_problem"] = pd.Series(problems, index=lines.index, dtype=object)
    lines["code_known"] = lines["code_problem"].isna()
    lines["category"] = "HW" + lines["waste_code"].str[-2:]
    return lines
