"""Air quality from a delivered file (or pull) into air_hourly and the daily marts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pandas as pd

from envmon.air import schema
from envmon.air.sources import FORMATS
from envmon.core.config import domain_settings, source_settings
from envmon.core.ingest import BatchOptions, DatasetSpec, Delivery, run_batch, run_deliveries
from envmon.core.landing import LandedFile, land_file
from envmon.core.ledger import RunRecord
from envmon.core.parsing import ParseResult
from envmon.core.progress import Reporter

DATASET = "air_hourly"


def shape_hourly(frame: pd.DataFrame, source: str, run_id: str) -> pd.DataFrame:
    """Checked parsed rows -> air_hourly rows: registry, natural day, HJ 633 AQI."""
    from envmon.air.aqi import hourly_aqi
    from envmon.air.registry import station_places

    settings = domain_settings("air")
    out = frame.merge(station_places(), on="station_code", how="left")
    out["registered"] = out["city_code"].notna()
    # The natural day of an hour is the day its averaging period started in:
    # the hour ending 00:00 on 2 October belongs to 1 October (HJ 663).
    out["date"] = (out["ts"] - timedelta(hours=1)).dt.strftime("%Y-%m-%d")
    scored = hourly_aqi(out, pm_hourly_basis=settings.get("pm_hourly_basis", "hourly"))
    out = pd.concat([out, scored[["aqi", "primary_pollutant", "aqi_standard", "aqi_complete"]]],
                    axis=1)
    # Never trust a feed's own AQI: keep it beside ours and flag disagreement.
    out["aqi_mismatch"] = out["feed_aqi"].notna() & out["aqi"].notna() & (
        out["feed_aqi"].round() != out["aqi"].astype("float64"))
    out["source"] = source
    out["run_id"] = run_id
    return out[list(schema.HOURLY_COLUMNS)]


def refresh_daily(dates: Iterable[str]) -> None:
    """Recompute air_daily_station and air_daily_city for the touched days."""
    from envmon.air.marts import refresh_days

    refresh_days(dates)


def hourly_spec() -> DatasetSpec:
    return DatasetSpec(name=DATASET, schema=schema.hourly_arrow_schema(),
                       keys=("station_code", "ts"), partition_col="date",
                       shape=shape_hourly, after_load=refresh_daily)


def check_params(source_cfg: dict) -> dict:
    return {k: source_cfg.get(k) for k in ("min_stations", "min_hours")
            if source_cfg.get(k) is not None}


def ingest_landed(landed: LandedFile, fmt: str, *, source: str | None = None,
                  source_cfg: dict | None = None, force: bool = False,
                  data_docs: bool = True) -> RunRecord:
    """Parse, check and load one landed air file."""
    return run_batch(hourly_spec(), [landed], _parser(landed, fmt), source=source or fmt,
                     options=_options(source_cfg, force=force, data_docs=data_docs))


def _parser(landed: LandedFile, fmt: str) -> Callable[[], ParseResult]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown air format {fmt!r}; known: {', '.join(sorted(FORMATS))}")
    return partial(FORMATS[fmt].parse, landed.path, name=landed.name,
                   hour_label=domain_settings("air").get("hour_label", "ending"))


def _options(source_cfg: dict | None, *, force: bool, data_docs: bool) -> BatchOptions:
    return BatchOptions(check_params=check_params(source_cfg or {}), force=force,
                        data_docs=data_docs)


def ingest_files(paths: Iterable[Path], fmt: str, *, source: str | None = None,
                 source_cfg: dict | None = None, force: bool = False,
                 data_docs: bool = True, reporter: Reporter | None = None) -> list[RunRecord]:
    """`envmon ingest air`: land each file and load it (one ledger run per file).

    Files are loaded in groups (core.ingest.run_deliveries) so a backfill
    pays the per-run costs of checks, lake writes and marts per group. When
    `source` names a configured source, its batch checks (expected stations
    and hours) apply.
    """
    if source_cfg is None and source:
        configured = domain_settings("air").get("sources") or {}
        source_cfg = source_settings("air", source) if source in configured else {}
    paths = list(paths)
    label = source or fmt

    def deliveries() -> Iterator[Delivery]:
        for path in paths:
            landed = land_file(Path(path), domain="air", source=label)
            yield Delivery([landed], _parser(landed, fmt))

    done = 0

    def report(record: RunRecord) -> None:
        nonlocal done
        done += 1
        if reporter:
            reporter.run(record, f"[{done}/{len(paths)}] ")

    return run_deliveries(hourly_spec(), deliveries(), source=label,
                          options=_options(source_cfg, force=force, data_docs=data_docs),
                          on_record=report)
