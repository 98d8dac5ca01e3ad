"""Air-quality source adapters, one module per feed.

Every file format has a parser `(path, *, name, hour_label) -> ParseResult`
returning the columns of envmon.air.schema.PARSED_COLUMNS; `name` is the
file's delivered name (landing stores files under their sha256).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from envmon.core.parsing import ParseResult

Parser = Callable[..., ParseResult]


def _china_sites(path: Path, *, name: str, hour_label: str) -> ParseResult:
    from envmon.air.sources.china_sites import parse_china_sites

    return parse_china_sites(path, name=name, hour_label=hour_label)


def _cnemc_archive(path: Path, *, name: str, hour_label: str) -> ParseResult:
    # CNEMC timepoints label the hour by its end; hour_label is for the
    # station archive files only.
    from envmon.air.sources.cnemc_archive import parse_cnemc_archive

    return parse_cnemc_archive(path, name=name)


FORMATS: dict[str, Parser] = {
    "china-sites": _china_sites,
    "cnemc-archive": _cnemc_archive,
}
