"""What a file named for a day claims: which hours it holds.

Nothing inside a station archive file or a CNEMC long archive says which
hours it is meant to hold; its name does (china_sites_20261001.csv,
cnemc_20220101.csv). Each parser reads its own names and hour labels and
states the claim as a DayClaim, which gives, the same way for every format:

- the window its rows must fall in (ParseResult.window), as hour ends;
- the reason a row outside it is refused, naming the window and that it was
  inferred from the file name (a person reading the quarantine cannot guess
  that a window exists, let alone where it came from);
- which of the day's hours no row holds (a ParseResult warning: the run is
  incomplete, nothing is discarded).

Hours are named by their label in the file (a station archive's `hour`, a
timepoint's hour), as a person checking the file sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from envmon.core.timeutil import BEIJING

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class DayClaim:
    """The hours a file's name claims, counted as labels after `zero`.

    `zero` is the hour end (Beijing) of the hour the file labels 00 on the
    first day it is named for; the claim covers labels 0..`last`. Each range
    in `days` is the labels of one whole day; a day the publisher can mean in
    more than one way has one range per reading, and the file is complete
    when any one of them is. `days` is empty when the name spans several
    days: only a day file is expected to be whole.
    """

    name: str
    zero: datetime
    last: int
    days: tuple[range, ...] = ()

    @property
    def window(self) -> tuple[datetime, datetime]:
        return self.zero, self.zero + self.last * HOUR

    def outside(self, ts: pd.Series) -> np.ndarray:
        """Which hour ends fall outside the window."""
        first, last = (pd.Timestamp(t) for t in self.window)
        return ~ts.between(first, last).to_numpy(dtype=bool)

    def refusal(self, what: str) -> str:
        """Why `what` (a row's time as the file writes it) is refused."""
        first, last = self.window
        return (f"{what} is outside the window {_span(first, last)} inferred from the file "
                f"name {self.name}")

    def warnings(self, ts: pd.Series) -> list[str]:
        """`19 of 24 hours: missing 05, 06, ...` when no row holds some of the day's hours.

        `ts` are the hour ends of the rows kept. Read every way the day can
        be meant, the reading with the fewest gaps is reported (the first
        listed on a tie).
        """
        if not self.days:
            return []
        held = set(((ts.drop_duplicates() - pd.Timestamp(self.zero)) // HOUR).tolist())
        day, gaps = min(((day, [h for h in day if h not in held]) for day in self.days),
                        key=lambda reading: len(reading[1]))
        if not gaps:
            return []
        return [f"{len(day) - len(gaps)} of {len(day)} hours: missing "
                + ", ".join(f"{h:02d}" for h in gaps)]


def day_start(day: date) -> datetime:
    """00:00 Beijing at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=BEIJING)


def date_in_name(digits: str) -> date | None:
    """The date YYYYMMDD `digits` spell, or None (20261399 names no day)."""
    try:
        return datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        return None


def _span(first: datetime, last: datetime) -> str:
    """`2022-01-01 00:00 - 24:00`: a midnight that ends a day is its 24:00 (HJ 663)."""
    end_day, end = last.date(), f"{last:%H:%M}"
    if last.time() == time(0) and last > first:
        end_day, end = end_day - timedelta(days=1), "24:00"
    start = f"{first:%Y-%m-%d %H:%M}"
    return f"{start} - {end}" if end_day == first.date() else f"{start} - {end_day} {end}"
