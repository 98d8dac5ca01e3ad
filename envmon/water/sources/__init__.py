"""Surface-water source adapters, one module per feed format.

cnemc-water: the national automatic monitoring real-time release (JSON pages).
lab-monthly: monthly laboratory results (CSV, full GB 3838 Table 1).
Both return envmon.water.schema.PARSED_COLUMNS.

A format's parse is `(landed files, fetch time or None) -> () -> ParseResult`:
a release delivery is several pages read against one fetch time
(envmon.water.fetch_time), a laboratory file stands alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from envmon.core.sources import Format

if TYPE_CHECKING:
    from envmon.core.landing import LandedFile
    from envmon.core.parsing import ParseResult
    from envmon.water.fetch_time import FetchTime


def _release_pages(landed: list[LandedFile], fetched_at: datetime | FetchTime | None
                   ) -> Callable[[], ParseResult]:
    """A bare datetime is a fetch time someone gave (trusted)."""
    from envmon.water.fetch_time import FetchTime, fetch_settings, fetch_time_of
    from envmon.water.sources.cnemc_water import Page, parse_pages

    tolerance, max_age = fetch_settings()
    if isinstance(fetched_at, FetchTime):
        when = fetched_at
    elif fetched_at is not None:
        when = FetchTime(fetched_at)
    else:
        when = fetch_time_of(landed[0])
    return partial(parse_pages, [Page(f.read_bytes(), f.name) for f in landed],
                   fetched_at=when.at, tolerance=tolerance, max_age=max_age,
                   fetched_at_is_file_time=when.file_time)


def _lab_file(landed: list[LandedFile], fetched_at: datetime | FetchTime | None
              ) -> Callable[[], ParseResult]:
    from envmon.core.config import domain_settings
    from envmon.water.sources.lab_monthly import parse_lab_monthly

    if len(landed) != 1:
        raise ValueError("lab-monthly is one file per run")
    factor = float(domain_settings("water").get("below_detection_factor", 0.5))
    return partial(parse_lab_monthly, landed[0].path, name=landed[0].name,
                   below_detection_factor=factor)


FORMATS: dict[str, Format] = {
    "cnemc-water": Format("a JSON page of the real-time release", _release_pages),
    "lab-monthly": Format("monthly laboratory CSV", _lab_file),
}
