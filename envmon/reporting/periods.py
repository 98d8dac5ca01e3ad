"""The periods a report judges, and the day the data are judged "as of".

A report is for a month (`--period 2026-10`). It judges each indicator for
the calendar year that contains the month (year to date, with a projection
while the year is not over) and, where the commitments say so, for the month
itself. `as_of` is the last day whose data count: the month's last day, or
today (Beijing) when the month is not over yet.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime

from envmon.core.errors import ConfigError
from envmon.core.timeutil import BEIJING


@dataclass(frozen=True)
class Period:
    kind: str  # "year" or "month"
    start: date
    end: date
    as_of: date

    @property
    def label(self) -> str:
        return f"{self.start:%Y}" if self.kind == "year" else f"{self.start:%Y-%m}"

    @property
    def over(self) -> bool:
        return self.as_of >= self.end

    @property
    def last_day(self) -> date:
        """The last day whose data count (the end, or as_of before it)."""
        return min(self.end, self.as_of)

    def previous_year(self) -> Period:
        """The same days one year earlier (29 February becomes the 28th)."""
        return Period(self.kind, shift_year(self.start, -1), shift_year(self.end, -1),
                      shift_year(self.as_of, -1))

    def whole(self) -> Period:
        """The same period, complete (as_of = end)."""
        return replace(self, as_of=self.end)

    def key(self) -> tuple[str, date, date, date]:
        return (self.kind, self.start, self.end, self.last_day)


def shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def today_beijing() -> date:
    return datetime.now(BEIJING).date()


def parse_month(text: str) -> date:
    """First day of a YYYY-MM month; a ConfigError names the bad value."""
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ConfigError(f"--period must be a month YYYY-MM, not {text!r}") from None
    if len(text) != 7:
        raise ConfigError(f"--period must be a month YYYY-MM, not {text!r}")
    return first


def report_periods(month: str, as_of: date | None = None,
                   today: date | None = None) -> tuple[Period, Period]:
    """(year, month) periods of a report for `month`, judged as of `as_of`.

    Default as_of: the month's last day, or today when the month is not over.
    """
    first = parse_month(month)
    last = month_end(first)
    today = today or today_beijing()
    if first > today:
        raise ConfigError(f"period {month} has not started yet (today is {today})")
    as_of = as_of or min(last, today)
    if as_of < first:
        raise ConfigError(f"--as-of {as_of} is before the period {month}")
    as_of = min(as_of, last)
    year = Period("year", first.replace(month=1, day=1), first.replace(month=12, day=31), as_of)
    return year, Period("month", first, last, as_of)


def months_between(start: date, end: date) -> list[str]:
    """'YYYY-MM' of every month from start's to end's, inclusive."""
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
