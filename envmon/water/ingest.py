"""Water deliveries into water_readings, then the daily and monthly marts.

`envmon ingest water --format cnemc-water|lab-monthly PATH...` lands each
file and loads it as one run. The fetch time a cnemc-water page needs for its
year comes from --fetched-at, else the landed file's metadata (`fetched_at`,
written by `envmon pull`), else the file's modification time. Only the last
is a guess (an archived copy has the time it was copied): when it puts no
reading in the window the delivery fails asking for --fetched-at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from envmon.core.config import domain_settings, source_settings
from envmon.core.ingest import BatchOptions, DatasetSpec, Delivery, run_deliveries
from envmon.core.landing import LandedFile, land_file
from envmon.core.ledger import RunRecord
from envmon.core.parsing import ParseResult
from envmon.core.progress import Reporter
from envmon.core.timeutil import BEIJING
from envmon.water import schema
from envmon.water.fetch_time import FetchTime, fetch_time_of
from envmon.water.sources import FORMATS


def shape_readings(frame: pd.DataFrame, source: str, run_id: str) -> pd.DataFrame:
    """Checked parsed rows -> water_readings: registry, GB 3838 class, provenance."""
    from envmon.water.classify import class_complete, classify
    from envmon.water.reference import (
        WATER_TYPE_GUESSED,
        guess_water_body,
        province_names_zh,
        registry_values,
    )
    from envmon.water.sources.common import normalise_province

    out = without_refused(frame.reset_index(drop=True))
    known, registered = registry_values(out["section_code"], (
        "province_code", "city_code", "water_body", "water_type_source", "water_name",
        "section_name"))
    out["registered"] = known
    # Unregistered: what the feed itself says.
    unknown = out.loc[~known]
    by_name = {normalise_province(n): c for c, n in province_names_zh().items()}
    feed_province = unknown["feed_province"].fillna("").map(normalise_province).map(by_name)
    named = unknown["feed_river"].fillna(unknown["section_name"]).fillna("")
    # Not in the registry: lake or river is guessed from the name, and says so.
    fallbacks = {"province_code": feed_province, "water_body": named.map(guess_water_body),
                 "water_type_source": pd.Series(WATER_TYPE_GUESSED, index=unknown.index),
                 "water_name": out["feed_river"], "section_name": out["section_name"]}
    for column, values in registered.items():
        otherwise = fallbacks.get(column)
        otherwise = None if otherwise is None else otherwise.reindex(out.index).to_numpy(
            dtype=object)
        out[column] = pd.Series(np.where(known, values, otherwise), index=out.index,
                                dtype=object)
    classes = classify(out)
    out = pd.concat([out, classes], axis=1)
    out["class_complete"] = class_complete(classes, out["items_refused"])
    # Never the publisher's class: keep it beside envmon's and flag disagreement.
    out["class_mismatch"] = (out["feed_class"].notna() & out["water_class"].notna()
                             & (out["feed_class"] != out["water_class"]))
    local = out["ts"].dt.tz_convert(BEIJING).dt.tz_localize(None)
    out["date"] = np.datetime_as_string(local.to_numpy().astype("datetime64[D]"))
    out["source"] = source
    out["run_id"] = run_id
    return out[list(schema.READINGS_COLUMNS)]


def without_refused(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with their refused cells emptied, and DO saturation from the cells kept.

    The parsers leave a value refused for its range in its column (listed in
    `items_refused`) so that the delivery-wide checks judge what was
    delivered; it leaves the reading here, after them, as an empty cell.
    """
    from envmon.water.sources.common import saturation_pct

    out = frame.copy()
    lists = out["items_refused"]
    for text in lists.dropna().unique():
        rows = (lists == text).to_numpy()
        for item in str(text).split(","):
            out.loc[rows, item] = np.nan
    out["do_saturation_pct"] = saturation_pct(out["water_temp"].to_numpy(dtype="float64"),
                                              out["do"].to_numpy(dtype="float64"))
    return out


def refresh_marts(dates: Iterable[str]) -> None:
    from envmon.water.marts import refresh

    refresh(list(dates))


def readings_spec() -> DatasetSpec:
    return DatasetSpec(name=schema.READINGS, schema=schema.readings_schema(),
                       keys=("section_code", "ts"), partition_col="date",
                       shape=shape_readings, after_load=refresh_marts)


def check_params(source_cfg: dict) -> dict:
    return {k: source_cfg[k] for k in ("min_sections",) if source_cfg.get(k) is not None}


def parser_for(fmt: str, landed: list[LandedFile], fetched_at: datetime | FetchTime | None
               ) -> Callable[[], ParseResult]:
    """How to parse a delivery; a bare datetime is a fetch time someone gave (trusted)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown water format {fmt!r}; known: {', '.join(FORMATS)}")
    return FORMATS[fmt].parse(landed, fetched_at)


def ingest_deliveries(batches: Iterable[tuple[list[LandedFile], datetime | FetchTime | None]],
                      fmt: str, *,
                      source: str, source_cfg: dict | None = None, force: bool = False,
                      data_docs: bool = True,
                      on_record: Callable[[RunRecord], None] | None = None) -> list[RunRecord]:
    """Load deliveries (landed files, fetch time) in groups, one ledger run each.

    core.ingest.run_deliveries checks a group's rows with one Great
    Expectations run, writes each partition once and derives the marts once
    per group, so a backfill does not pay those per file.
    """
    options = BatchOptions(check_params=check_params(source_cfg or {}), force=force,
                           data_docs=data_docs)
    deliveries = (Delivery(landed, parser_for(fmt, landed, when)) for landed, when in batches)
    return run_deliveries(readings_spec(), deliveries, source=source, options=options,
                          on_record=on_record)


def ingest_files(paths: Iterable[Path], fmt: str, *, source: str | None = None,
                 fetched_at: datetime | None = None, force: bool = False,
                 data_docs: bool = True, reporter: Reporter | None = None) -> list[RunRecord]:
    """`envmon ingest water`: land each file, then load it (one run per file, in groups)."""
    source_cfg: dict = {}
    if source:
        configured = domain_settings("water").get("sources") or {}
        source_cfg = source_settings("water", source) if source in configured else {}
    paths = [Path(p) for p in paths]
    label = source or fmt

    def batches() -> Iterator[tuple[list[LandedFile], datetime | FetchTime | None]]:
        for path in paths:
            landed = land_file(path, domain="water", source=label)
            when: datetime | FetchTime | None = fetched_at
            if fmt == "cnemc-water" and when is None:
                when = fetch_time_of(landed, path)
            yield [landed], when

    return ingest_deliveries(batches(), fmt, source=label, source_cfg=source_cfg, force=force,
                             data_docs=data_docs, on_record=progress(reporter, len(paths)))


def progress(reporter: Reporter | None, total: int, labels: list[str] | None = None
             ) -> Callable[[RunRecord], None] | None:
    """Reports each run as `[n/total] label` as the grouped load records it."""
    if reporter is None:
        return None
    done = 0

    def report(record: RunRecord) -> None:
        nonlocal done
        done += 1
        label = f"{labels[done - 1]} " if labels else ""
        reporter.run(record, f"[{done}/{total}] {label}")

    return report
