"""Working days (工作日) for the deadlines of the transfer measures.

A working day is a weekday that is not a public holiday, or a weekend day
the State Council declared a make-up working day (调休上班). The holidays and
make-up days are data (config/hazwaste.yaml, from each year's State Council
notice); a year the configuration does not list is counted with weekends
only, and `covers()` lets callers say so.

Deadlines follow the usual reading of "within N working days of the day X"
(期间开始的当日不计入, Civil Code Art. 201): the day of X is not counted, the
period ends at 24:00 Beijing time of the N-th working day after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from envmon.core.errors import ConfigError
from envmon.core.timeutil import BEIJING

_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
             "saturday": 5, "sunday": 6}


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date]
    workdays: frozenset[date]
    weekend: frozenset[int]  # date.weekday() numbers
    years: frozenset[int]  # years whose holidays are configured

    def is_working(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def covers(self, first: date, last: date) -> bool:
        """True when every year from `first` to `last` has its holidays configured."""
        return all(y in self.years for y in range(first.year, last.year + 1))

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (`day` itself not counted)."""
        return _add(self, day, n)

    def deadline(self, at: datetime, n: int) -> datetime:
        """End (24:00 Beijing) of the n-th working day after the Beijing date of `at`."""
        last = self.add_working_days(at.astimezone(BEIJING).date(), n)
        return datetime.combine(last + timedelta(days=1), time(0), tzinfo=BEIJING)


@lru_cache(maxsize=65536)
def _add(calendar: WorkingCalendar, day: date, n: int) -> date:
    if n < 1:
        raise ValueError(f"working-day count must be >= 1, not {n}")
    current, counted = day, 0
    while counted < n:
        current += timedelta(days=1)
        counted += calendar.is_working(current)
    return current


def from_config(section: dict) -> WorkingCalendar:
    """Build the calendar from the `calendar` section of config/hazwaste.yaml."""
    where = "config/hazwaste.yaml: calendar"
    try:
        weekend = frozenset(_WEEKDAYS[str(d).lower()] for d in section.get("weekend") or [])
    except KeyError as exc:
        raise ConfigError(f"{where}.weekend: unknown day {exc.args[0]!r}") from None
    holidays: set[date] = set()
    workdays: set[date] = set()
    years = section.get("years") or {}
    for year, spec in years.items():
        for key, target in (("holidays", holidays), ("workdays", workdays)):
            for value in (spec or {}).get(key) or []:
                if not isinstance(value, date) or value.year != int(year):
                    raise ConfigError(f"{where}.years.{year}.{key}: {value!r} is not a date "
                                      f"(YYYY-MM-DD) in {year}")
                target.add(value)
    both = holidays & workdays
    if both:
        raise ConfigError(f"{where}: {min(both)} is both a holiday and a working day")
    return WorkingCalendar(frozenset(holidays), frozenset(workdays), weekend,
                           frozenset(int(y) for y in years))
