"""Manifest states, anomalies and monthly flows, recomputed from everything in the lake.

Every run reads all stored manifests, lines, events and approvals and
rewrites the three derived datasets whole (hw_manifest_state, hw_anomalies,
hw_flows), partitioned by month (of entry; for flows, of departure).
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

import math
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from envmon.core import lake
from envmon.core.locks import dataset_lock, loading
from envmon.core.settings import home
from envmon.core.timeutil import BEIJING, BEIJING_TZ_NAME
from envmon.hazwaste import reference, schema
from envmon.hazwaste.anomalies import CUMULATIVE, Facts, detect, labelled
from envmon.hazwaste.lifecycle import replay
from envmon.hazwaste.reference import WASTE_CODE_RE
from envmon.hazwaste.settings import Rules, load_rules

PART = "derived"
KEY = ["manifest_no", "version"]
# Stored versions per bucket at most: what bounds the refresh's memory
# (measured: about 6 MB per 1,000 versions over a 400 MB base).
BUCKET_MANIFESTS = 100_000
# Buckets go by the last digits of the number (the serial's): uniform over the
# numbers of any province and year, and independent of what is stored, so a
# bucket's part holds the same numbers from one refresh to the next.
_SUFFIX = 3
_COUNTS = ("anomalies", "high_anomalies")


@dataclass(frozen=True)
class Bucket:
    """Manifest numbers whose last _SUFFIX digits are `number` modulo `count`;
    bucket 0 also takes every number that does not end in digits."""

    number: int
    count: int

    def _suffixes(self) -> tuple[list[str], bool]:
        """The suffixes to keep, or (for bucket 0) to leave out: (values, keep)."""
        values = [f"{k:0{_SUFFIX}d}" for k in range(10**_SUFFIX)]
        if self.number:
            return [v for k, v in enumerate(values) if k % self.count == self.number], True
        return [v for k, v in enumerate(values) if k % self.count], False

    def expression(self) -> pc.Expression:
        if self.count == 1:
            return pc.scalar(True)
        values, keep = self._suffixes()
        suffix = pc.utf8_slice_codeunits(pc.field("manifest_no"), -_SUFFIX)
        inside = pc.is_in(suffix, value_set=pa.array(values, pa.string()))
        return inside if keep else ~inside

    def mask(self, numbers: pd.Series) -> pd.Series:
        if self.count == 1:
            return pd.Series(True, index=numbers.index)
        values, keep = self._suffixes()
        inside = numbers.str[-_SUFFIX:].isin(values)
        return inside if keep else ~inside


@dataclass(frozen=True)
class Shared:
    """What every bucket reads the same: rules, "now", approvals."""

    rules: Rules
    as_of: datetime | None
    source_as_of: dict
    approvals: pd.DataFrame


def refresh(as_of: datetime | None = None, bucket_manifests: int = BUCKET_MANIFESTS) -> dict:
    """Recompute and store hw_manifest_state, hw_anomalies and hw_flows; returns counts.

    Holds the hazardous-waste lake exclusively: no load is halfway through
    (a manifest's new version stored but not yet its events would read as a
    broken lifecycle), and two refreshes never remove each other's parts.
    """
    with loading(), dataset_lock(schema.LAKE_LOCK):
        return _refresh(as_of, bucket_manifests)


def _refresh(as_of: datetime | None, bucket_manifests: int) -> dict:
    started = time.perf_counter()
    shared = Shared(load_rules(), as_of, _source_as_of(), _approvals())
    basis = reference.load("anomaly_rules")
    buckets = _buckets(bucket_manifests)
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
    written: set[Path] = set()
    totals = {"manifests": 0, "versions": 0, "anomalies": 0}
    for bucket in buckets:
        state = pd.read_parquet(directory / f"state.{bucket.number}.parquet")
        mine = cumulative[bucket.mask(cumulative["manifest_no"])]
        found = _sorted(_concat([pd.read_parquet(directory / f"found.{bucket.number}.parquet"),
                                 _located(mine, state, state.iloc[0:0])]))
        state = _with_anomaly_counts(state, found)
        part = f"{PART}.b{bucket.number:03d}"
        written |= _write_parts(schema.STATE, state, part)
        written |= _write_parts(schema.ANOMALIES, found, part)
        totals["manifests"] += int(state["current"].sum())
        totals["versions"] += len(state)
        totals["anomalies"] += len(found)
    for dataset in (schema.STATE, schema.ANOMALIES):
        _remove_parts_but(dataset, written)
    return totals


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate, leaving out empty frames (their dtypes would widen the result)."""
    rows = [f for f in frames if not f.empty]
    return pd.concat(rows, ignore_index=True) if rows else frames[0]


def read_dataset(dataset: str, bucket: Bucket | None = None) -> pd.DataFrame:
    """Every part file of a lake dataset (only the bucket's numbers, if given),
    with its partition column; rows in the order of the files."""
    column = schema.partition_column(dataset)
    stored = schema.arrow_schema(dataset)
    tables = []
    for path in _files(dataset):
        table = pq.read_table(path, schema=stored)
        if bucket is not None:
            table = table.filter(bucket.expression())
        value = path.parent.name.split("=", 1)[1]
        tables.append(table.append_column(column, pa.array([value] * table.num_rows,
                                                           pa.string())))
    if not tables:
        return stored.append(pa.field(column, pa.string())).empty_table().to_pandas()
    return pa.concat_tables(tables).to_pandas()


def _files(dataset: str) -> list[Path]:
    return sorted(home().dataset(dataset).glob("*/*.parquet"))


def _source_as_of() -> dict:
    """Each source's latest export time, over manifests and events (read narrow)."""
    latest: dict = {}
    for dataset in (schema.MANIFESTS, schema.EVENTS):
        for path in _files(dataset):
            table = pq.read_table(path, columns=["source", "exported_at"],
                                  schema=schema.arrow_schema(dataset))
            maxima = table.group_by("source").aggregate([("exported_at", "max")])
            for source, at in zip(maxima["source"].to_pylist(),
                                  maxima["exported_at_max"].to_pylist(), strict=True):
                if at is not None and (source not in latest or at > latest[source]):
                    latest[source] = at
    return {source: pd.Timestamp(at) for source, at in latest.items()}


def _buckets(per_bucket: int) -> list[Bucket]:
    """About `per_bucket` stored versions each; a power of two of them, so that
    the buckets (and which part holds a number) change only when the lake doubles."""
    rows = sum(pq.read_metadata(path).num_rows for path in _files(schema.MANIFESTS))
    count = 1 << max(0, math.ceil(rows / per_bucket) - 1).bit_length()
    count = min(count, 10**_SUFFIX // 2)
    return [Bucket(number, count) for number in range(count)]


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


def _write_parts(dataset: str, frame: pd.DataFrame, part: str) -> set[Path]:
    """One part file per month of the frame; returns the files written."""
    stored = schema.arrow_schema(dataset)
    written = set()
    for value, rows in _typed(dataset, frame).groupby(schema.MONTH):
        written.add(lake.replace_partition(dataset, rows.reset_index(drop=True),
                                           partition_col=schema.MONTH, value=str(value),
                                           part=part, schema=stored))
    return written


def _remove_parts_but(dataset: str, keep: set[Path]) -> None:
    """Remove the derived parts of earlier refreshes that this one did not rewrite
    (months with no rows left, buckets that no longer exist)."""
    stored = schema.arrow_schema(dataset)
    for pattern in (f"{PART}.parquet", f"{PART}.b*.parquet"):
        for path in home().dataset(dataset).glob(f"{schema.MONTH}=*/{pattern}"):
            if path not in keep:
                lake.replace_partition(dataset, pd.DataFrame(), partition_col=schema.MONTH,
                                       value=path.parent.name.split("=", 1)[1],
                                       part=path.stem, schema=stored)


def _replace_all(dataset: str, frame: pd.DataFrame) -> None:
    """Write each month's partition whole; remove months that have no rows left."""
    _remove_parts_but(dataset, _write_parts(dataset, frame, PART))
