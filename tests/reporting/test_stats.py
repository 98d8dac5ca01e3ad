"""HJ 663 percentile, GB/T 8170 rounding and HJ 663 validity counts, by hand."""

from __future__ import annotations

from datetime import date

import pytest

from envmon.air.standards import validity_minimums
from envmon.reporting.stats import daily_validity, gbt8170_round, hj663_percentile
from tests.reporting.scenario import days

MIN = validity_minimums()


def test_percentile_interpolates_between_ranks() -> None:
    # n = 10, p = 0.9: k = 1 + 9 x 0.9 = 9.1, s = 9 -> X9 + (X10 - X9) x 0.1
    # sorted 10..100: 90 + (100 - 90) x 0.1 = 91
    values = [70, 10, 100, 40, 20, 90, 30, 60, 50, 80]  # order does not matter
    assert hj663_percentile(values, 0.9) == pytest.approx(91.0)


def test_percentile_other_points() -> None:
    xs = [3, 1, 4, 1, 5, 9, 2, 6]  # sorted: 1 1 2 3 4 5 6 9 (n = 8)
    # p = 0.9: k = 1 + 7 x 0.9 = 7.3 -> X7 + (X8 - X7) x 0.3 = 6 + 3 x 0.3 = 6.9
    assert hj663_percentile(xs, 0.9) == pytest.approx(6.9)
    # p = 0.5: k = 4.5 -> X4 + (X5 - X4) x 0.5 = 3 + 0.5 = 3.5 (the median)
    assert hj663_percentile(xs, 0.5) == pytest.approx(3.5)
    # p = 0.95 on the CO-style series: k = 1 + 7 x 0.95 = 7.65 -> 6 + 3 x 0.65 = 7.95
    assert hj663_percentile(xs, 0.95) == pytest.approx(7.95)
    # p = 1: k = n -> the largest value, no X[n + 1] needed
    assert hj663_percentile(xs, 1.0) == 9


def test_percentile_edge_cases() -> None:
    assert hj663_percentile([], 0.9) is None
    assert hj663_percentile([float("nan"), None], 0.9) is None  # type: ignore[list-item]
    assert hj663_percentile([42.0], 0.9) == 42.0  # k = 1
    # missing values are not counted: n = 3 (10, 20, 30): k = 1 + 2 x 0.9 = 2.8 -> 20 + 10 x 0.8
    assert hj663_percentile([10, None, 30, float("nan"), 20], 0.9) == pytest.approx(28.0)  # type: ignore[list-item]
    with pytest.raises(ValueError):
        hj663_percentile([1, 2], 0)


def test_percentile_differs_from_nearest_rank() -> None:
    # 30 values 10..300: k = 1 + 29 x 0.9 = 27.1 -> 270 + 10 x 0.1 = 271 (nearest rank
    # would give 270, the "exclusive" method 279): the formula matters.
    assert hj663_percentile([10.0 * i for i in range(1, 31)], 0.9) == pytest.approx(271.0)


def test_gbt8170_rounds_half_to_even() -> None:
    assert gbt8170_round(30.5, 0) == 30.0  # five, even neighbour below
    assert gbt8170_round(31.5, 0) == 32.0  # five, even neighbour above
    assert gbt8170_round(30.51, 0) == 31.0  # more than five
    assert gbt8170_round(0.125, 2) == 0.12
    assert gbt8170_round(2.675, 2) == 2.68  # read as written, not as 2.67499...
    assert gbt8170_round(-23.45, 1) == -23.4
    assert gbt8170_round(None, 1) is None


def test_validity_of_a_complete_year() -> None:
    year = days(date(2025, 1, 1), date(2025, 12, 31))
    ok = daily_validity(year, date(2025, 1, 1), date(2025, 12, 31), date(2025, 12, 31), MIN)
    assert ok.valid and ok.valid_days == 365 and ok.capture == 1.0
    # 41 days missing (365 - 324 allowed), no month below its minimum: 4 from each
    # 31-day month (7 x 4 = 28; 31 - 27), 3 from each 30-day month (4 x 3 = 12;
    # 30 - 27) and 1 from February (28 - 25 allows 3) -> 41 missing, 324 valid.
    dropped = ({date(2025, m, d) for m in (1, 3, 5, 7, 8, 10, 12) for d in (1, 2, 3, 4)}
               | {date(2025, m, d) for m in (4, 6, 9, 11) for d in (1, 2, 3)}
               | {date(2025, 2, 1)})
    kept = [d for d in year if d not in dropped]
    assert len(kept) == 324
    assert daily_validity(kept, date(2025, 1, 1), date(2025, 12, 31), date(2025, 12, 31),
                          MIN).valid
    # one more day missing (February, still >= 25 there): 323 < 324 for the year
    fewer = [d for d in kept if d != date(2025, 2, 2)]
    result = daily_validity(fewer, date(2025, 1, 1), date(2025, 12, 31), date(2025, 12, 31), MIN)
    assert not result.valid and any("needs 324" in r for r in result.reasons)


def test_validity_month_minimums() -> None:
    # February 2026 (28 days) needs 25: 25 valid is enough, 24 is not
    feb = days(date(2026, 2, 1), date(2026, 2, 28))
    assert daily_validity(feb[3:], feb[0], feb[-1], feb[-1], MIN).valid
    short = daily_validity(feb[4:], feb[0], feb[-1], feb[-1], MIN)
    assert not short.valid and short.reasons == ("2026-02 24/28 (needs 25)",)
    # October (31 days) needs 27: 26 is not enough
    octo = days(date(2026, 10, 1), date(2026, 10, 31))
    assert daily_validity(octo[4:], octo[0], octo[-1], octo[-1], MIN).valid
    assert not daily_validity(octo[5:], octo[0], octo[-1], octo[-1], MIN).valid


def test_validity_of_a_period_not_over() -> None:
    # As of 2026-10-10, October may still reach 27 of 31 with 4 days missed so far,
    # not with 5 (31 - 27 = 4 allowed).
    first, end, as_of = date(2026, 10, 1), date(2026, 10, 31), date(2026, 10, 10)
    seen = days(first, as_of)
    assert daily_validity(seen[4:], first, end, as_of, MIN).valid
    result = daily_validity(seen[5:], first, end, as_of, MIN)
    assert not result.valid and result.elapsed_days == 10 and result.valid_days == 5
    # A year to date with only October: January..September are short.
    year = daily_validity(days(first, end), date(2026, 1, 1), date(2026, 12, 31), end, MIN)
    assert not year.valid and year.valid_days == 31 and year.elapsed_days == 304
    assert year.reasons[0] == "2026-01 0/31 (needs 27)"
