"""Working days from config/hazwaste.yaml (2026 State Council holiday notice)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from envmon.core.errors import ConfigError
from envmon.core.timeutil import BEIJING
from envmon.hazwaste.calendar import from_config
from envmon.hazwaste.settings import load_rules


@pytest.fixture(scope="module")
def cal():
    return load_rules().calendar


@pytest.mark.parametrize("day, working", [
    (date(2026, 10, 1), False),   # National Day
    (date(2026, 10, 7), False),   # last day of the 7-day holiday
    (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),   # Saturday, make-up working day
    (date(2026, 9, 20), True),    # Sunday, make-up working day
    (date(2026, 10, 11), False),  # ordinary Sunday
    (date(2026, 2, 14), True),    # Saturday before Spring Festival, make-up day
    (date(2026, 2, 23), False),   # last day of Spring Festival
    (date(2026, 1, 4), True),     # Sunday after New Year, make-up day
    (date(2025, 10, 8), False),   # 2025: National Day and Mid-Autumn, 8 days
    (date(2025, 10, 11), True),   # 2025 make-up Saturday
])
def test_holidays_and_make_up_days(cal, day: date, working: bool) -> None:
    assert cal.is_working(day) is working


@pytest.mark.parametrize("start, n, last", [
    # Wed 09-30 -> 10-08, 10-09, 10-10 (Sat, make-up), 10-12, 10-13
    (date(2026, 9, 30), 5, date(2026, 10, 13)),
    # Fri 10-09 -> 10-10 (make-up), 10-12, 10-13, 10-14, 10-15
    (date(2026, 10, 9), 5, date(2026, 10, 15)),
    # Fri 02-13 -> 02-14 (make-up), 02-24, 02-25, 02-26, 02-27 (holiday 02-15..23)
    (date(2026, 2, 13), 5, date(2026, 2, 27)),
    # Receipt on a holiday: counting starts on the next working day.
    (date(2026, 10, 3), 1, date(2026, 10, 8)),
    # Mon 09-28, 10 working days -> 10-16 (09-29, 09-30, 10-08..10, 10-12..16)
    (date(2026, 9, 28), 10, date(2026, 10, 16)),
])
def test_nth_working_day_after(cal, start: date, n: int, last: date) -> None:
    assert cal.add_working_days(start, n) == last


def test_deadline_is_end_of_the_last_day_in_beijing(cal) -> None:
    # 2026-09-30 02:00 UTC is 10:00 Beijing on 09-30.
    received = datetime.fromisoformat("2026-09-30T02:00:00+00:00")
    assert cal.deadline(received, 5) == datetime(2026, 10, 14, 0, 0, tzinfo=BEIJING)
    # 2026-09-29 17:00 UTC is already 09-30 01:00 in Beijing: same deadline.
    late_utc = datetime.fromisoformat("2026-09-29T17:00:00+00:00")
    assert cal.deadline(late_utc, 5) == datetime(2026, 10, 14, 0, 0, tzinfo=BEIJING)


def test_unconfigured_year_counts_weekends_only(cal) -> None:
    assert not cal.covers(date(2026, 12, 28), date(2027, 1, 5))
    assert cal.covers(date(2026, 1, 1), date(2026, 12, 31))
    # 2027-01-01 is a Friday: without the 2027 notice it counts as working.
    assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)


def test_config_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="both a holiday and a working day"):
        from_config({"weekend": ["saturday", "sunday"],
                     "years": {2026: {"holidays": [date(2026, 10, 10)],
                                      "workdays": [date(2026, 10, 10)]}}})
    with pytest.raises(ConfigError, match="not a date"):
        from_config({"years": {2026: {"holidays": [date(2025, 10, 1)]}}})
    with pytest.raises(ConfigError, match="unknown day 'funday'"):
        from_config({"weekend": ["funday"]})
