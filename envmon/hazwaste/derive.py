"""Manifest states, anomalies and monthly flows, recomputed from everything in the lake.

Every run reads all stored manifests, lines, events and approvals and
rewrites the three derived datasets whole (hw_manifest_state, hw_anomalies,
hw_flows), partitioned by month (of entry; for flows, of departure).
Nothing here depends on the order of earlier runs or on the wall clock, so
re-running gives the same result.

How copies and versions of a manifest make its state, and which versions
are current: manifest_state.py.

"Now" for time-based rules is, per manifest, the latest export time of the
sources that delivered it (a stale feed does not make its manifests look
overdue), or the `as_of` given.

Memory: everything about a manifest number (its versions, copies, events,
lines, and all but the cumulative rules) depends on that number alone, so the
numbers are cut into buckets (by their last digits, about BUCKET_MANIFESTS
stored versions each) and one bucket is in memory at a time. What crosses
buckets is read narrow or gathered small: each source's latest export, the
approvals, the inputs of the cumulative rules (anomalies.CUMULATIVE, run
once over every bucket's rows) and the partial monthly flows (summed at the
end). State and anomalies are written as one part per month and bucket
(derived.bNNN.parquet); parts this refresh did not write are removed.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from envmon.core import lake, lakehouse
from envmon.core.locks import dataset_lock, loading
from envmon.core.timeutil import BEIJING, BEIJING_TZ_NAME
from envmon.hazwaste import reference, schema
from envmon.hazwaste.anomalies import CUMULATIVE, detect, labelled
from envmon.hazwaste.buckets import KEY, Bucket, plan_buckets, read_dataset
from envmon.hazwaste.manifest_state import Shared, build
from envmon.hazwaste.settings import load_rules

PART = "derived"
# Stored versions per bucket at most: what bounds the refresh's memory
# (measured: about 6 MB per 1,000 versions over a 400 MB base).
BUCKET_MANIFESTS = 100_000
_COUNTS = ("anomalies", "high_anomalies")


def refresh(as_of: datetime | None = None, bucket_manifests: int = BUCKET_MANIFESTS) -> dict:
    """Recompute and store hw_manifest_state, hw_anomalies and hw_flows; returns counts.

    Holds the hazardous-waste lake exclusively: no load is halfway through
    (a manifest's new version stored but not yet its events would read as a
    broken lifecycle), and two refreshes never remove each other's parts.
    """
    with loading(), dataset_lock(schema.LAKE_LOCK):
        # On the lakehouse, one transaction claiming what every hazardous-waste
        # load claims: a load committed meanwhile makes it run again.
        return lakehouse.run(lambda: _refresh(as_of, bucket_manifests),
                             claims=[schema.LEDGER_DATASET]) if lakehouse.active() \
            else _refresh(as_of, bucket_manifests)


def _refresh(as_of: datetime | None, bucket_manifests: int) -> dict:
    started = time.perf_counter()
    shared = Shared(load_rules(), as_of, _source_as_of(), _approvals())
    basis = reference.load("anomaly_rules")
    buckets = plan_buckets(bucket_manifests)
    gathered: dict[str, list[pd.DataFrame]] = {kind: [] for kind in CUMULATIVE}
    flow_parts = []
    with tempfile.TemporaryDirectory(prefix="hw-refresh-") as staging:
        for bucket in buckets:
            state, facts = build(shared, bucket)
            found = _located(detect(facts, basis, skip=CUMULATIVE), state,
                             facts.orphan_events)
            for kind, (inputs, _) in CUMULATIVE.items():
                gathered[kind].append(inputs(facts))
            flow_parts.append(partial_flows(state[state["current"]], facts.lines))
            _stage(Path(staging), bucket, state, found)
            del state, facts, found
        cumulative = labelled({kind: check(_concat(gathered[kind]))
                               for kind, (_, check) in CUMULATIVE.items()},
                              shared.rules, basis)
        totals = _write_buckets(Path(staging), buckets, cumulative)
    _replace_all(schema.FLOWS, total_flows(flow_parts))
    return {**totals, "buckets": len(buckets), "seconds": time.perf_counter() - started}


def _located(found: pd.DataFrame, state: pd.DataFrame, orphans: pd.DataFrame
             ) -> pd.DataFrame:
    """Anomalies with the month and "now" of the version they name."""
    where = pd.concat([state[[*KEY, schema.MONTH, "as_of"]],
                       orphans[[*KEY, schema.MONTH, "as_of"]]]).drop_duplicates(KEY)
    return found.merge(where, on=KEY, how="left")


def _sorted(found: pd.DataFrame) -> pd.DataFrame:
    return found.sort_values([schema.MONTH, "manifest_no", "version", "anomaly"],
                             kind="stable")


def _stage(directory: Path, bucket: Bucket, state: pd.DataFrame, found: pd.DataFrame
           ) -> None:
    """Keep a bucket on disk (compressed: the temporary directory may be in
    memory) until the cumulative rules have run over all of them."""
    columns = [c for c in schema.TABLES[schema.STATE] if c not in _COUNTS]
    state[[*columns, schema.MONTH]].to_parquet(directory / f"state.{bucket.number}.parquet",
                                               compression="zstd")
    found.to_parquet(directory / f"found.{bucket.number}.parquet", compression="zstd")


def _write_buckets(directory: Path, buckets: list[Bucket], cumulative: pd.DataFrame) -> dict:
    """Each staged bucket with its cumulative findings, as parts of the lake."""
    written: dict[str, set[tuple[str, str]]] = {schema.STATE: set(), schema.ANOMALIES: set()}
    totals = {"manifests": 0, "versions": 0, "anomalies": 0}
    for bucket in buckets:
        state = pd.read_parquet(directory / f"state.{bucket.number}.parquet")
        mine = cumulative[bucket.mask(cumulative["manifest_no"])]
        found = _sorted(_concat([pd.read_parquet(directory / f"found.{bucket.number}.parquet"),
                                 _located(mine, state, state.iloc[0:0])]))
        state = _with_anomaly_counts(state, found)
        part = f"{PART}.b{bucket.number:03d}"
        written[schema.STATE] |= _write_parts(schema.STATE, state, part)
        written[schema.ANOMALIES] |= _write_parts(schema.ANOMALIES, found, part)
        totals["manifests"] += int(state["current"].sum())
        totals["versions"] += len(state)
        totals["anomalies"] += len(found)
    for dataset in (schema.STATE, schema.ANOMALIES):
        _remove_parts_but(dataset, written[dataset])
    return totals


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate, leaving out empty frames (their dtypes would widen the result)."""
    rows = [f for f in frames if not f.empty]
    return pd.concat(rows, ignore_index=True) if rows else frames[0]


def _source_as_of() -> dict:
    """Each source's latest export time, over manifests and events (read narrow)."""
    latest: dict = {}
    for dataset in (schema.MANIFESTS, schema.EVENTS):
        table = lake.read_all(dataset, schema.partition_column(dataset),
                              schema.arrow_schema(dataset), columns=["source", "exported_at"])
        if table.num_rows:
            maxima = table.group_by("source").aggregate([("exported_at", "max")])
            for source, at in zip(maxima["source"].to_pylist(),
                                  maxima["exported_at_max"].to_pylist(), strict=True):
                if at is not None and (source not in latest or at > latest[source]):
                    latest[source] = at
    return {source: pd.Timestamp(at) for source, at in latest.items()}


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
# Computed per bucket (unrounded sums), then added up over the buckets: the
# buckets hold disjoint manifests, so their distinct counts add up too.
_PARTIAL_FLOWS_SQL = """
SELECT strftime(timezone('Asia/Shanghai', m.departed_at), '%Y-%m') AS month,
       m.origin_province_code, m.origin_province, m.dest_province_code, m.dest_province,
       m.cross_province,
       CASE WHEN regexp_full_match(l.waste_code, '[0-9]{3}-[0-9]{3}-[0-9]{2}')
            THEN 'HW' || right(l.waste_code, 2) END AS category,
       count(DISTINCT m.manifest_no || '/' || m.version) AS manifests,
       count(*) AS lines,
       sum(l.quantity_t) AS shipped_t,
       sum(l.received_t) AS received_t
FROM current_versions m JOIN current_lines l USING (manifest_no, version)
WHERE m.departed_at IS NOT NULL
GROUP BY ALL
"""
_TOTAL_FLOWS_SQL = """
SELECT month, origin_province_code, origin_province, dest_province_code, dest_province,
       cross_province, category,
       CAST(sum(manifests) AS BIGINT) AS manifests,
       CAST(sum(lines) AS BIGINT) AS lines,
       round(sum(shipped_t), 3) AS shipped_t,
       round(sum(received_t), 3) AS received_t
FROM partial_flows
GROUP BY ALL
ORDER BY ALL
"""


def flows(current: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Departure month x province pair x category over the current versions
    and their lines (the copy the state names)."""
    return total_flows([partial_flows(current, lines)])


def partial_flows(current: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """flows() of some of the manifests, with unrounded sums (see total_flows)."""
    return _query(_PARTIAL_FLOWS_SQL, current_versions=current[[
        *KEY, "departed_at", "origin_province_code", "origin_province",
        "dest_province_code", "dest_province", "cross_province"]],
        current_lines=lines[[*KEY, "waste_code", "quantity_t", "received_t"]])


def total_flows(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The flows of disjoint sets of manifests, added up and rounded."""
    return _query(_TOTAL_FLOWS_SQL, partial_flows=pd.concat(parts, ignore_index=True))


def _query(sql: str, **frames: pd.DataFrame) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        for name, frame in frames.items():
            con.register(name, frame)
        return con.execute(sql).df()
    finally:
        con.close()


def _typed(dataset: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the dataset's stored types."""
    frame = frame.copy()
    for column, kind in schema.TABLES[dataset].items():
        if kind == "ts":
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(
                BEIJING).astype(f"datetime64[us, {BEIJING_TZ_NAME}]")
        elif kind in ("i32", "i64"):
            frame[column] = frame[column].astype("int32" if kind == "i32" else "int64")
        elif kind == "bool":
            frame[column] = frame[column].astype(bool)
    return frame


def _write_parts(dataset: str, frame: pd.DataFrame, part: str) -> set[tuple[str, str]]:
    """One part per month of the frame; returns the (month, part) written."""
    stored = schema.arrow_schema(dataset)
    written = set()
    for value, rows in _typed(dataset, frame).groupby(schema.MONTH):
        lake.replace_partition(dataset, rows.reset_index(drop=True), partition_col=schema.MONTH,
                               value=str(value), part=part, schema=stored)
        written.add((str(value), part))
    return written


def _remove_parts_but(dataset: str, keep: set[tuple[str, str]]) -> None:
    """Remove the derived parts of earlier refreshes that this one did not rewrite
    (months with no rows left, buckets that no longer exist)."""
    stored = schema.arrow_schema(dataset)
    for month, part in sorted(lake.parts(dataset, schema.MONTH) - keep):
        if part == PART or part.startswith(f"{PART}.b"):
            lake.replace_partition(dataset, pd.DataFrame(), partition_col=schema.MONTH,
                                   value=month, part=part, schema=stored)


def _replace_all(dataset: str, frame: pd.DataFrame) -> None:
    """Write each month's partition whole; remove months that have no rows left."""
    _remove_parts_but(dataset, _write_parts(dataset, frame, PART))
