"""Air-quality source adapters, one module per feed.

Every file format (FORMATS) has a parser `(path, *, name, hour_label) -> ParseResult`
returning the columns of envmon.air.schema.PARSED_COLUMNS; `name` is the
file's delivered name (landing stores files under their sha256).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from envmon.core.sources import Format

if TYPE_CHECKING:
    from envmon.core.parsing import ParseResult


def _china_sites(path: Path, *, name: str, hour_label: str) -> ParseResult:
    from envmon.air.sources.china_sites import parse_china_sites

    return parse_china_sites(path, name=name, hour_label=hour_label)


def _cnemc_archive(path: Path, *, name: str, hour_label: str) -> ParseResult:
    # CNEMC timepoints label the hour by its end; hour_label is for the
    # station archive files only.
    from envmon.air.sources.cnemc_archive import parse_cnemc_archive

    return parse_cnemc_archive(path, name=name)


# OpenAQ is not a file format: its source fetches and parses measurement
# pages itself (envmon.air.pull).
FORMATS: dict[str, Format] = {
    "china-sites": Format("china_sites_YYYYMMDD.csv, one column per station", _china_sites,
                          daily_name="china_sites_{date:%Y%m%d}.csv"),
    "cnemc-archive": Format("one row per station-hour", _cnemc_archive,
                            daily_name="cnemc_archive_{date:%Y%m%d}.csv"),
}
