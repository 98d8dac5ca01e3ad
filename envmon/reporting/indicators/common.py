"""What every domain's measures share: the Measurement, the projection methods,
and the warehouse views of one computation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from envmon.reporting.areas import Areas
from envmon.reporting.config import Commitments

REST_AS_LAST_YEAR = "rest as in the previous year"
REST_AT_LEVEL = "rest at the level so far"


@dataclass(frozen=True)
class Measurement:
    value: float | None
    valid: bool
    capture: float | None
    projection: float | None = None
    projection_method: str = ""
    # For measures that only grow (counts, sums): a value the period's final
    # value cannot be below, whatever data are still missing.
    lower_bound: float | None = None
    detail: str = ""


NO_DATA = Measurement(None, False, None)


def pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def change_pct(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return 100.0 * (now - before) / before


class Sources:
    """The warehouse connection and configuration of one computation, and the
    views it holds: what each domain's data (air.py, water.py, hazwaste.py) read."""

    def __init__(self, config: Commitments, areas: Areas, con: Any, first_day: date,
                 last_day: date) -> None:
        self.config = config
        self.areas = areas
        self.con = con
        # Data from the start of the previous year (year-on-year changes,
        # projections) to the end of the report's year.
        self.first_day = first_day
        self.last_day = last_day
        self._views = _views(con)

    def missing_views(self, *names: str) -> list[str]:
        return [n for n in names if n not in self._views]

    def columns(self, view: str) -> set[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
            [view]).fetchall()
        return {r[0] for r in rows}


def _views(con: Any) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}

