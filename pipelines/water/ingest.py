"""Water deliveries into water_readings, then the daily and monthly marts.

`envmon ingest water --format cnemc-water|lab-monthly PATH...` lands each
file and loads it as one run. The fetch time a cnemc-water page needs for its
year comes from --fetched-at, else the landed file's metadata (`fetched_at`,
written by `envmon pull`), else the file's modification time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pandas as pd

from pipelines.core.config import domain_settings, source_settings
from pipelines.core.errors import ConfigError
from pipelines.core.ingest import BatchOptions, DatasetSpec, run_batch
from pipelines.core.landing import LandedFile, land_file
from pipelines.core.ledger import RunRecord
from pipelines.core.parsing import ParseResult
from pipelines.core.progress import Reporter
from pipelines.core.timeutil import BEIJING
from pipelines.water import schema
from pipelines.water.sources import FORMATS

# Heuristic for sections the registry does not know: their water body decides
# which TP table applies. Names of lakes and reservoirs end like this.
_LAKE_SUFFIXES = ("湖", "水库", "荡", "淀", "漾")


def shape_readings(frame: pd.DataFrame, source: str, run_id: str) -> pd.DataFrame:
    """Checked parsed rows -> water_readings: registry, GB 3838 class, provenance."""
    from pipelines.water.classify import classify
    from pipelines.water.reference import load_sections, province_names_zh
    from pipelines.water.sources.common import normalise_province

    out = frame.reset_index(drop=True).copy()
    registry = load_sections().set_index("section_code")
    known = out["section_code"].isin(registry.index)
    out["registered"] = known
    by_name = {normalise_province(n): c for c, n in province_names_zh().items()}
    for column in ("province_code", "city_code", "water_body", "water_name"):
        out[column] = out["section_code"].map(registry[column]).where(known, None)
    out["section_name"] = out["section_code"].map(registry["section_name"]).where(
        known, out["section_name"])
    # Unregistered: what the feed itself says.
    feed_province = out["feed_province"].fillna("").map(normalise_province).map(by_name)
    out["province_code"] = out["province_code"].where(known, feed_province)
    out["water_name"] = out["water_name"].where(known, out["feed_river"])
    named = out["feed_river"].fillna(out["section_name"]).fillna("")
    guessed = named.map(lambda n: "lake" if str(n).endswith(_LAKE_SUFFIXES) else "river")
    out["water_body"] = out["water_body"].where(known, guessed)
    classes = classify(out)
    out = pd.concat([out, classes], axis=1)
    # Never the publisher's class: keep it beside envmon's and flag disagreement.
    out["class_mismatch"] = (out["feed_class"].notna() & out["water_class"].notna()
                             & (out["feed_class"] != out["water_class"]))
    out["date"] = out["ts"].dt.tz_convert(BEIJING).dt.strftime("%Y-%m-%d")
    out["source"] = source
    out["run_id"] = run_id
    return out[list(schema.READINGS_COLUMNS)]


def refresh_marts(dates: Iterable[str]) -> None:
    from pipelines.water.marts import refresh

    refresh(list(dates))


def readings_spec() -> DatasetSpec:
    return DatasetSpec(name=schema.READINGS, schema=schema.readings_schema(),
                       keys=("section_code", "ts"), partition_col="date",
                       shape=shape_readings, after_load=refresh_marts)


def check_params(source_cfg: dict) -> dict:
    return {k: source_cfg[k] for k in ("min_sections",) if source_cfg.get(k) is not None}


def fetch_settings() -> tuple[timedelta, timedelta]:
    """(tolerance, max_age) for cnemc-water timestamps, from config/sources.yaml."""
    settings = domain_settings("water")
    tolerance = float(settings.get("fetch_tolerance_hours", 24))
    max_age = float(settings.get("max_reading_age_days", 31))
    return timedelta(hours=tolerance), timedelta(days=max_age)


def parse_time(text: str) -> datetime:
    """An ISO timestamp; without an offset it is Beijing time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--fetched-at {text!r} is not an ISO timestamp "
                          "(e.g. 2027-01-02T08:00:00+08:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


def fetched_at_of(landed: LandedFile, path: Path | None = None) -> datetime:
    """The landed metadata's fetched_at, else the file's modification time."""
    recorded = landed.meta.get("fetched_at")
    if recorded:
        return parse_time(str(recorded))
    source = path if path is not None and path.exists() else landed.path
    return datetime.fromtimestamp(source.stat().st_mtime, tz=BEIJING)


def parser_for(fmt: str, landed: list[LandedFile], fetched_at: datetime | None
               ) -> Callable[[], ParseResult]:
    if fmt == "cnemc-water":
        from pipelines.water.sources.cnemc_water import Page, parse_pages

        tolerance, max_age = fetch_settings()
        when = fetched_at or fetched_at_of(landed[0])
        return partial(parse_pages, [Page(f.read_bytes(), f.name) for f in landed],
                       fetched_at=when, tolerance=tolerance, max_age=max_age)
    if fmt == "lab-monthly":
        from pipelines.water.sources.lab_monthly import parse_lab_monthly

        if len(landed) != 1:
            raise ValueError("lab-monthly is one file per run")
        factor = float(domain_settings("water").get("below_detection_factor", 0.5))
        return partial(parse_lab_monthly, landed[0].path, name=landed[0].name,
                       below_detection_factor=factor)
    raise ValueError(f"unknown water format {fmt!r}; known: {', '.join(FORMATS)}")


def ingest_landed(landed: list[LandedFile], fmt: str, *, source: str,
                  fetched_at: datetime | None = None, source_cfg: dict | None = None,
                  force: bool = False, data_docs: bool = True) -> RunRecord:
    """Parse, check and load one delivery (a file, or the pages of one fetch)."""
    parse = parser_for(fmt, landed, fetched_at)
    options = BatchOptions(check_params=check_params(source_cfg or {}), force=force,
                           data_docs=data_docs)
    return run_batch(readings_spec(), landed, parse, source=source, options=options)


def ingest_files(paths: Iterable[Path], fmt: str, *, source: str | None = None,
                 fetched_at: datetime | None = None, force: bool = False,
                 data_docs: bool = True, reporter: Reporter | None = None) -> list[RunRecord]:
    """`envmon ingest water`: land each file, then load it (one run per file)."""
    source_cfg: dict = {}
    if source:
        configured = domain_settings("water").get("sources") or {}
        source_cfg = source_settings("water", source) if source in configured else {}
    paths = [Path(p) for p in paths]
    records = []
    for number, path in enumerate(paths, start=1):
        landed = land_file(path, domain="water", source=source or fmt)
        when = fetched_at
        if fmt == "cnemc-water" and when is None:
            when = fetched_at_of(landed, path)
        records.append(ingest_landed([landed], fmt, source=source or fmt, fetched_at=when,
                                     source_cfg=source_cfg, force=force, data_docs=data_docs))
        if reporter:
            reporter.run(records[-1], f"[{number}/{len(paths)}] ")
    return records
