"""`envmon pull air`: fetch from a configured source into landing, then ingest.

A pull that cannot get what it asked for (a day's file not published, an
HTTP error after retries) raises SourceError, so a scheduled task fails and
Airflow retries it; what was already landed stays.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from envmon.air.ingest import check_params, hourly_spec, ingest_landed
from envmon.air.sources import FORMATS
from envmon.core.config import source_settings
from envmon.core.errors import ConfigError
from envmon.core.ingest import BatchOptions, run_batch
from envmon.core.landing import LandedFile, land_bytes
from envmon.core.ledger import RunRecord
from envmon.core.progress import Reporter
from envmon.core.sources import daily_file
from envmon.core.timeutil import BEIJING


def pull(source: str, start: date, end: date, *, force: bool = False,
         data_docs: bool = True, reporter: Reporter | None = None) -> list[RunRecord]:
    """Fetch days start..end (inclusive, Beijing dates) from `source` and load them."""
    cfg = source_settings("air", source)
    fmt = cfg.get("format")
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    if fmt == "openaq":
        records = [_pull_openaq(source, cfg, start, end, force=force, data_docs=data_docs)]
        if reporter:
            reporter.run(records[0])
        return records
    if fmt not in FORMATS:
        raise ConfigError(f"air source {source!r}: unknown format {fmt!r}")
    records = []
    days = _days(start, end)
    for number, day in enumerate(days, start=1):
        landed = daily_file("air", source, cfg, FORMATS[fmt].daily_name.format(date=day), day)
        records.append(ingest_landed(landed, fmt, source=source, source_cfg=cfg, force=force,
                                     data_docs=data_docs))
        if reporter:
            reporter.run(records[-1], f"[{number}/{len(days)}] ")
    return records


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _pull_openaq(source: str, cfg: dict, start: date, end: date, *, force: bool,
                 data_docs: bool) -> RunRecord:
    from envmon.air.sources.openaq import SensorConfig, fetch_pages, parse_pages

    sensors = [SensorConfig(sensor_id=int(s["sensor_id"]), station_code=str(s["station_code"]),
                            pollutant=str(s["pollutant"])) for s in cfg.get("sensors") or []]
    if not sensors:
        raise ConfigError(f"air source {source!r}: no sensors configured")
    # Hours ending in (start 00:00, end+1 00:00] Beijing: the natural days asked for.
    t0 = datetime.combine(start, time(0), tzinfo=BEIJING)
    t1 = datetime.combine(end + timedelta(days=1), time(0), tzinfo=BEIJING)
    landed: list[LandedFile] = []
    # The fetch's own metadata, not landing's sidecar: identical bytes (an
    # empty page) from two sensors share one sidecar.
    metas: list[dict] = []
    for sensor in sensors:
        pages = fetch_pages(sensor.sensor_id, t0, t1, base_url=cfg.get("base_url"),
                            api_key_env=cfg.get("api_key_env", "OPENAQ_API_KEY"),
                            limit=int(cfg.get("page_limit", 1000)))
        for number, page in enumerate(pages, start=1):
            metas.append({"sensor_id": sensor.sensor_id, "params": page.params})
            landed.append(land_bytes(
                page.body, domain="air", source=source,
                name=f"openaq_sensor{sensor.sensor_id}_{start:%Y%m%d}-{end:%Y%m%d}_p{number}.json",
                meta={"url": page.url, "params": page.params, "sensor_id": sensor.sensor_id,
                      "fetched_at": page.fetched_at.isoformat()}))
    window = (t0 + timedelta(hours=1), t1)

    def parse():
        return parse_pages([(f.read_bytes(), m) for f, m in zip(landed, metas, strict=True)],
                           sensors,
                           min_coverage=float(cfg.get("min_coverage_percent", 75)),
                           window=window)

    options = BatchOptions(check_params=check_params(cfg), force=force, data_docs=data_docs)
    return run_batch(hourly_spec(), landed, parse, source=source, options=options)
