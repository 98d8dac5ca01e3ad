"""The statistics the commitments rest on: HJ 663 percentile, GB/T 8170
rounding and the HJ 663 / GB 3095 Table 4 validity counts.

The minimum counts come from reference/standards/hj663_validity.csv
(envmon.air.standards.validity_minimums), never from constants here.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal


def hj663_percentile(values: Iterable[float], p: float) -> float | None:
    """The p-th percentile (0 < p <= 1) by HJ 663-2013:

    sort ascending X[1] <= ... <= X[n] (1-based), k = 1 + (n - 1) p, s = floor(k);
    value = X[s] + (X[s + 1] - X[s]) (k - s), with X[n] when s = n.
    None for no values. Missing values (None, NaN) are not counted.
    """
    if not 0 < p <= 1:
        raise ValueError(f"percentile p must be in (0, 1], not {p}")
    xs = sorted(float(v) for v in values if v is not None and not math.isnan(float(v)))
    n = len(xs)
    if n == 0:
        return None
    k = 1 + (n - 1) * p
    s = math.floor(k)
    if s >= n:
        return xs[n - 1]
    return xs[s - 1] + (xs[s] - xs[s - 1]) * (k - s)


def gbt8170_round(value: float | None, decimals: int) -> float | None:
    """Round half to even at `decimals` (GB/T 8170 "四舍六入五成双").

    Goes through the shortest decimal repr of the float, so 2.5 -> 2 and
    0.125 (exactly representable) -> 0.12 at two decimals, while 2.675 (stored
    as 2.67499...) is read as written, "2.675" -> 2.68.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_EVEN))


def month_minimum(year: int, month: int, minimums: dict[str, int]) -> int:
    """Valid daily values a month needs (GB 3095 Table 4: 27, February 25)."""
    return minimums["february_min_days"] if month == 2 else minimums["month_min_days"]


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


@dataclass(frozen=True)
class Validity:
    """Whether daily values over [start, as_of] meet (or can still meet) HJ 663.

    `valid` for a period that is over: the counts are met. For a period not
    over: the days missed so far are no more than the period allows, so the
    minimums can still be met. `capture` = valid days / days elapsed.
    """

    valid: bool
    valid_days: int
    elapsed_days: int
    reasons: tuple[str, ...]

    def summary(self, shown: int = 3) -> str:
        """One line: the valid days, and the months (and year) short of the minimum."""
        if not self.reasons:
            return f"{self.valid_days} valid days of {self.elapsed_days}"
        more = len(self.reasons) - shown
        return (f"{self.valid_days} valid days of {self.elapsed_days}; short of HJ 663: "
                + ", ".join(self.reasons[:shown]) + (f" and {more} more" if more > 0 else ""))

    @property
    def capture(self) -> float | None:
        return self.valid_days / self.elapsed_days if self.elapsed_days else None


def daily_validity(valid_dates: Iterable[date], start: date, end: date, as_of: date,
                   minimums: dict[str, int]) -> Validity:
    """HJ 663 / GB 3095 Table 4 day counts for a month or a year period [start, end].

    Each month needs its minimum (27, February 25): a month seen only up to
    `as_of` may have missed at most (days in month - minimum) days so far.
    A calendar-year period also needs 324 valid days: at most
    (days in year - 324) missed so far.
    """
    last = min(end, as_of)
    days = {d for d in valid_dates if start <= d <= last}
    reasons: list[str] = []
    elapsed = (last - start).days + 1 if last >= start else 0
    cursor = start
    while cursor <= last:
        month_days = calendar.monthrange(cursor.year, cursor.month)[1]
        month_end = cursor.replace(day=month_days)
        seen_to = min(month_end, last)
        seen = (seen_to - cursor).days + 1
        have = sum(1 for d in days if cursor <= d <= seen_to)
        need = month_minimum(cursor.year, cursor.month, minimums)
        allowed_missing = month_days - need
        if seen - have > allowed_missing:
            reasons.append(f"{cursor:%Y-%m} {have}/{seen}{'' if seen == month_days else '+'}"
                           f" (needs {need})")
        cursor = month_end + timedelta(days=1)
    if (start.month, start.day) == (1, 1) and end == date(start.year, 12, 31):
        need = minimums["annual_min_days"]
        allowed_missing = days_in_year(start.year) - need
        if elapsed - len(days) > allowed_missing:
            reasons.append(f"year {len(days)}/{elapsed}{'+' if last < end else ''} "
                           f"(needs {need})")
    return Validity(valid=elapsed > 0 and not reasons, valid_days=len(days),
                    elapsed_days=elapsed, reasons=tuple(reasons))
