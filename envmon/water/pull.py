"""`envmon pull water --source NAME`: fetch into landing, then ingest.

- cnemc-water with `url`: GET the release page by page (PageIndex 1..total,
  PageSize), land every page, then load the pages as one run. A page that
  fails after retries, a page that is not a release page, or a release that
  delivers far fewer rows than its `records` (below `min_coverage`) is a
  failed pull (SourceError): what was landed stays, nothing partial is loaded.
- `directory` (+ `pattern`): every matching file, one run each (files already
  loaded are recognised by their bytes and skipped).
- `generator` (the demo sources, envmon.core.sources): it writes the release
  page (or the month's lab file) for `--at` first, as a scheduled fetch
  would have seen it; a page is then loaded as that fetch.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from envmon.core.config import source_settings
from envmon.core.errors import ConfigError, InputError, SourceError
from envmon.core.landing import LandedFile, land_bytes, land_file
from envmon.core.ledger import RunRecord
from envmon.core.progress import Reporter
from envmon.core.sources import directory_files, generate
from envmon.core.timeutil import BEIJING
from envmon.water.fetch_time import fetch_time_of
from envmon.water.ingest import ingest_deliveries, progress
from envmon.water.sources import FORMATS


def pull(source: str, *, at: datetime | None = None, force: bool = False,
         data_docs: bool = True, reporter: Reporter | None = None) -> list[RunRecord]:
    cfg = source_settings("water", source)
    fmt = cfg.get("format")
    if fmt not in FORMATS:
        raise ConfigError(f"water source {source!r}: unknown format {fmt!r}")
    when = (at or datetime.now(BEIJING)).astimezone(BEIJING)
    if fmt == "cnemc-water" and cfg.get("generator"):
        # A generated release page is one fetch at `when`, as a scheduled one would be.
        pages = [land_bytes(path.read_bytes(), domain="water", source=source, name=path.name,
                            meta={"origin": str(path), "fetched_at": when.isoformat()})
                 for path in generate(cfg, when)]
        return _run(pages, fmt, source, cfg, force, data_docs, reporter, one_batch=True)
    generate(cfg, when)
    if fmt == "cnemc-water" and cfg.get("url"):
        pages = fetch_release(source, cfg)
        return _run(pages, fmt, source, cfg, force, data_docs, reporter, one_batch=True)
    if cfg.get("directory"):
        files = directory_files(cfg)
        landed = [land_file(f, domain="water", source=source) for f in files]
        return _run(landed, fmt, source, cfg, force, data_docs, reporter, one_batch=False,
                    paths=files)
    raise ConfigError(f"water source {source!r} has neither url nor directory")


def _run(landed: list[LandedFile], fmt: str, source: str, cfg: dict, force: bool,
         data_docs: bool, reporter: Reporter | None, *, one_batch: bool,
         paths: list[Path] | None = None) -> list[RunRecord]:
    batches = [landed] if one_batch else [[f] for f in landed]
    # A directory's file without a recorded fetch time falls back on its
    # modification time, as `envmon ingest` does, with the same refusal.
    deliveries = [(batch, fetch_time_of(batch[0], paths[number] if paths else None)
                   if fmt == "cnemc-water" else None)
                  for number, batch in enumerate(batches)]
    return ingest_deliveries(deliveries, fmt, source=source, source_cfg=cfg, force=force,
                             data_docs=data_docs, on_record=progress(reporter, len(batches)))


def fetch_release(source: str, cfg: dict) -> list[LandedFile]:
    """Every page of the real-time release, landed; SourceError unless complete."""
    from envmon.core import http
    from envmon.water.sources.cnemc_water import Page, page_info

    url = str(cfg["url"])
    page_size = int(cfg.get("page_size", 60))
    max_pages = int(cfg.get("max_pages", 200))
    coverage = float(cfg.get("min_coverage", 0.9))
    fetched_at = datetime.now(BEIJING)
    stamp = f"{fetched_at:%Y%m%dT%H%M}"
    landed: list[LandedFile] = []
    rows, total, records = 0, 1, None
    index = 1
    while index <= total:
        params = {**(cfg.get("params") or {}), "PageIndex": index, "PageSize": page_size}
        response = http.get(url, params=params, timeout=float(cfg.get("timeout_s", 30)),
                            max_retries=int(cfg.get("max_retries", 3)),
                            backoff=float(cfg.get("backoff_s", 1.0)))
        name = f"cnemc_water_{stamp}_p{index}.json"
        page = land_bytes(response.content, domain="water", source=source, name=name,
                          meta={"url": http.redact_url(url, params), "page": index,
                                "fetched_at": fetched_at.isoformat()})
        landed.append(page)
        try:
            info = page_info(Page(response.content, name))
        except InputError as exc:
            raise SourceError(f"page {index} of {url}: {exc}") from None
        if index == 1:
            total, records = info.total_pages or 1, info.records
            if total > max_pages:
                raise SourceError(f"{url}: {total} pages of {page_size} exceed max_pages "
                                  f"{max_pages}")
        rows += info.rows
        index += 1
    if rows == 0:
        raise SourceError(f"{url}: the release delivered no rows (records {records}): "
                          "not loaded, pages kept in landing")
    if records is not None and rows < coverage * records:
        raise SourceError(f"{url}: the release says {records} records, the {total} page(s) "
                          f"delivered {rows} (< {coverage:.0%}): not loaded, pages kept in "
                          "landing")
    return landed
