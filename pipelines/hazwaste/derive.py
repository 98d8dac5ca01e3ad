"""Manifest states, anomalies and monthly flows, recomputed from everything in the lake.

Every run reads all stored manifests, lines, events and approvals and
rewrites the three derived datasets whole (hw_manifest_state, hw_anomalies,
hw_flows), one partition per month (of entry; for flows, of departure).
Nothing here depends on the order of earlier runs or on the wall clock, so
re-running gives the same result.

Copies and versions:
- the same version delivered by several sources (the origin and the
  destination province both export a cross-province manifest) is one
  manifest: header and lines from the copy with the latest export, events
  from all copies (the same type at the same instant counted once);
- a version is superseded when another version of the number carries a
  `corrected` event at or after this version's last event: the correction
  replaced it. Versions nothing supersedes are current; two current versions
  of one number are the duplicated-number anomaly.

"Now" for time-based rules is, per manifest, the latest export time of the
sources that delivered it (a stale feed does not make its manifests look
overdue), or the `as_of` given.
"""

from __future__ import annotations

import time
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core import lake
from pipelines.core.settings import home
from pipelines.core.timeutil import BEIJING, BEIJING_TZ_NAME
from pipelines.hazwaste import reference, schema
from pipelines.hazwaste.anomalies import Facts, detect
from pipelines.hazwaste.lifecycle import replay
from pipelines.hazwaste.reference import WASTE_CODE_RE
from pipelines.hazwaste.settings import Rules, load_rules

PART = "derived"
KEY = ["manifest_no", "version"]


def refresh(as_of: datetime | None = None) -> dict:
    """Recompute and store hw_manifest_state and hw_anomalies; returns counts."""
    started = time.perf_counter()
    rules = load_rules()
    state, facts = build(rules, as_of)
    found = detect(facts, reference.load("anomaly_rules"))
    months = pd.concat([state[["manifest_no", "version", schema.MONTH]],
                        facts.orphan_events[["manifest_no", "version", schema.MONTH]]])
    found = found.merge(months.drop_duplicates(KEY), on=KEY, how="left")
    found = found.merge(pd.concat([state[[*KEY, "as_of"]],
                                   facts.orphan_events[[*KEY, "as_of"]]]).drop_duplicates(KEY),
                        on=KEY, how="left")
    found = found.sort_values([schema.MONTH, "manifest_no", "version", "anomaly"],
                              kind="stable")
    state = _with_anomaly_counts(state, found)
    _replace_all(schema.STATE, state)
    _replace_all(schema.ANOMALIES, found)
    _replace_all(schema.FLOWS, flows(state[state["current"]], facts.lines))
    return {"manifests": int(state["current"].sum()), "versions": len(state),
            "anomalies": len(found), "seconds": time.perf_counter() - started}


def read_dataset(dataset: str) -> pd.DataFrame:
    """Every part file of a lake dataset, with its partition column."""
    column = schema.partition_column(dataset)
    stored = schema.arrow_schema(dataset)
    tables = []
    for path in sorted(home().dataset(dataset).glob("*/*.parquet")):
        table = pq.read_table(path, schema=stored)
        value = path.parent.name.split("=", 1)[1]
        tables.append(table.append_column(column, pa.array([value] * table.num_rows,
                                                           pa.string())))
    if not tables:
        return stored.append(pa.field(column, pa.string())).empty_table().to_pandas()
    return pa.concat_tables(tables).to_pandas()


def build(rules: Rules, as_of: datetime | None = None) -> tuple[pd.DataFrame, Facts]:
    """The state of every stored manifest version, and the facts the rules read."""
    manifests = read_dataset(schema.MANIFESTS)
    lines = read_dataset(schema.LINES)
    events = read_dataset(schema.EVENTS)

    source_as_of = pd.concat([manifests[["source", "exported_at"]],
                              events[["source", "exported_at"]]]).groupby("source")[
        "exported_at"].max()
    source_as_of = dict(source_as_of.items())
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

    known_numbers = set(manifests["manifest_no"])
    orphans = status[~status["manifest_no"].isin(known_numbers)].copy()
    orphans["version"] = ""
    orphans["as_of"] = _lookup(orphans["source"], source_as_of, as_of)

    facts = Facts(manifests=current.reset_index(drop=True), lines=line_rows,
                  orphan_events=orphans, approvals=_approvals(),
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
    with English names (cities: the region's, from reference/cities.csv)."""
    from pipelines.core.reference import load_cities

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


def _approvals() -> pd.DataFrame:
    """Approvals delivered by the systems (latest export of each number) over the
    bundled reference list: the system of record wins when both have a number."""
    delivered = read_dataset(schema.APPROVALS).sort_values("exported_at", ascending=False)
    delivered = delivered.drop_duplicates("approval_no").assign(origin="delivered")
    bundled = reference.load("approvals").assign(origin="reference")
    columns = ["approval_no", "origin_province", "dest_province", "shipper_id", "receiver_id",
               "waste_codes", "approved_tonnes", "valid_from", "valid_to", "whitelist", "origin"]
    bundled = bundled[~bundled["approval_no"].isin(delivered["approval_no"])]
    frames = [f[columns] for f in (delivered, bundled) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    out["whitelist"] = out["whitelist"].astype(bool)
    return out


def _with_anomaly_counts(state: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    counts = found.assign(_high=found["severity"] == "high").groupby(KEY).agg(
        anomalies=("anomaly", "size"), high_anomalies=("_high", "sum")).reset_index()
    state = state.merge(counts, on=KEY, how="left")
    for column in ("anomalies", "high_anomalies"):
        state[column] = state[column].fillna(0).astype("int64")
    return state


# The grain and sums of the hw_flows_monthly view, as documented there; kept
# as a table because a year of it joins a million manifests to their lines.
_FLOWS_SQL = """
SELECT strftime(timezone('Asia/Shanghai', m.departed_at), '%Y-%m') AS month,
       m.origin_province_code, m.origin_province, m.dest_province_code, m.dest_province,
       m.cross_province,
       CASE WHEN regexp_full_match(l.waste_code, '[0-9]{3}-[0-9]{3}-[0-9]{2}')
            THEN 'HW' || right(l.waste_code, 2) END AS category,
       count(DISTINCT m.manifest_no || '/' || m.version) AS manifests,
       count(*) AS lines,
       round(sum(l.quantity_t), 3) AS shipped_t,
       round(sum(l.received_t), 3) AS received_t
FROM current_versions m JOIN current_lines l USING (manifest_no, version)
WHERE m.departed_at IS NOT NULL
GROUP BY ALL
"""


def flows(current: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Departure month x province pair x category over the current versions
    and their lines (the copy the state names)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("current_versions", current[[
            *KEY, "departed_at", "origin_province_code", "origin_province",
            "dest_province_code", "dest_province", "cross_province"]])
        con.register("current_lines", lines[[*KEY, "waste_code", "quantity_t", "received_t"]])
        return con.execute(_FLOWS_SQL).df()
    finally:
        con.close()


def _replace_all(dataset: str, frame: pd.DataFrame) -> None:
    """Write each month's partition whole; remove months that have no rows left."""
    stored = schema.arrow_schema(dataset)
    frame = frame.copy()
    for column, kind in schema.TABLES[dataset].items():
        if kind == "ts":
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(
                BEIJING).astype(f"datetime64[us, {BEIJING_TZ_NAME}]")
        elif kind in ("i32", "i64"):
            frame[column] = frame[column].astype("int32" if kind == "i32" else "int64")
        elif kind == "bool":
            frame[column] = frame[column].astype(bool)
    months = set(frame[schema.MONTH]) if len(frame) else set()
    for value, rows in frame.groupby(schema.MONTH):
        lake.replace_partition(dataset, rows.reset_index(drop=True),
                               partition_col=schema.MONTH, value=str(value), part=PART,
                               schema=stored)
    for path in home().dataset(dataset).glob(f"{schema.MONTH}=*/{PART}.parquet"):
        if path.parent.name.split("=", 1)[1] not in months:
            lake.replace_partition(dataset, frame.iloc[0:0], partition_col=schema.MONTH,
                                   value=path.parent.name.split("=", 1)[1], part=PART,
                                   schema=stored)
