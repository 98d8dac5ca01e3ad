"""The status rules, one case each (envmon/reporting/status.py)."""

from __future__ import annotations

import pytest

from envmon.reporting.status import AT_RISK, MET, MISSED, NOT_ENOUGH_DATA, ON_TRACK, judge


@pytest.mark.parametrize(("value", "target", "direction", "over", "valid", "projection",
                          "lower_bound", "margin", "expected"), [
    # period over: met / missed on the value, the target itself meets it
    (30, 30, "lower", True, True, None, None, 0.05, MET),
    (31, 30, "lower", True, True, None, None, 0.05, MISSED),
    (85, 85, "higher", True, True, None, None, 0.05, MET),
    (84.9, 85, "higher", True, True, None, None, 0.05, MISSED),
    # invalid data: not enough data, whatever the value
    (20, 30, "lower", True, False, None, None, 0.05, NOT_ENOUGH_DATA),
    (None, 30, "lower", False, True, None, None, 0.05, NOT_ENOUGH_DATA),
    # not over: the projection decides; 5 % of 30 = 1.5 to spare for on track
    (25, 30, "lower", False, True, 28.5, None, 0.05, ON_TRACK),
    (25, 30, "lower", False, True, 28.6, None, 0.05, AT_RISK),
    (25, 30, "lower", False, True, 31, None, 0.05, AT_RISK),
    (90, 85, "higher", False, True, 89.25, None, 0.05, ON_TRACK),  # 85 + 4.25
    (90, 85, "higher", False, True, 89.0, None, 0.05, AT_RISK),
    # no projection: the value so far stands in for it
    (20, 30, "lower", False, True, None, None, 0.0, ON_TRACK),
    # a count already beyond its target is missed before the period ends,
    # even with too little data (missing days can only add)
    (6, 3, "lower", False, True, 9, 6, 0.05, MISSED),
    (None, 3, "lower", False, False, None, 4, 0.05, MISSED),
    (2, 3, "lower", False, False, 4, 2, 0.05, NOT_ENOUGH_DATA),
    # target 0 for a count: on track only with none so far and none projected
    (0, 0, "lower", False, True, 0, 0, 0.05, ON_TRACK),
    (-19.5, -3.0, "lower", False, True, -19.5, None, 0.05, ON_TRACK),
])
def test_judge(value, target, direction, over, valid, projection, lower_bound, margin,
               expected) -> None:
    assert judge(value, target, direction, period_over=over, valid=valid,
                 projection=projection, lower_bound=lower_bound, margin=margin) == expected
