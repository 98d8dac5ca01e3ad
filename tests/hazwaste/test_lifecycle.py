"""The manifest lifecycle: allowed transitions and what breaks them."""

from __future__ import annotations

from datetime import datetime, timedelta

from envmon.core.timeutil import BEIJING
from envmon.hazwaste.lifecycle import STATES, TRANSITIONS, replay

T0 = datetime(2026, 10, 12, 8, 0, tzinfo=BEIJING)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_clean_path_and_rejection() -> None:
    done = replay([("created", at(0)), ("departed", at(1)), ("received", at(5)),
                   ("confirmed", at(20))])
    assert (done.state, done.violations) == ("confirmed", [])
    assert done.first["received"] == at(5)
    refused = replay([("created", at(0)), ("departed", at(1)), ("rejected", at(5))])
    assert (refused.state, refused.violations) == ("rejected", [])
    after_inspection = replay([("created", at(0)), ("departed", at(1)), ("received", at(5)),
                               ("rejected", at(6))])
    assert (after_inspection.state, after_inspection.violations) == ("rejected", [])


def test_file_order_does_not_matter_and_ties_follow_the_lifecycle() -> None:
    same_time = replay([("received", at(1)), ("created", at(0)), ("departed", at(1))])
    assert (same_time.state, same_time.violations) == ("received", [])


def test_received_before_departure_is_one_misplaced_event() -> None:
    result = replay([("created", at(0)), ("received", at(1)), ("departed", at(2)),
                     ("confirmed", at(3))])
    assert result.violations == ["received at 2026-10-12 09:00 before departure",
                                 "departed at 2026-10-12 10:00 after receipt"]
    assert result.state == "confirmed"


def test_confirmed_twice_and_events_after_the_end() -> None:
    twice = replay([("created", at(0)), ("departed", at(1)), ("received", at(2)),
                    ("confirmed", at(3)), ("confirmed", at(27))])
    assert twice.violations == ["confirmed twice (at 2026-10-12 11:00 and 2026-10-13 11:00)"]
    after = replay([("created", at(0)), ("departed", at(1)), ("rejected", at(2)),
                    ("received", at(3))])
    assert after.violations == ["received at 2026-10-12 11:00 after the manifest was rejected"]
    assert after.state == "rejected"


def test_correction_keeps_the_state_but_needs_a_manifest() -> None:
    corrected = replay([("created", at(0)), ("corrected", at(0.5)), ("departed", at(1))])
    assert (corrected.state, corrected.violations) == ("in_transit", [])
    early = replay([("corrected", at(0)), ("created", at(1))])
    assert early.violations == ["corrected at 2026-10-12 08:00 before creation"]


def test_no_event_is_a_draft_and_every_state_is_reachable() -> None:
    assert replay([]).state == "draft"
    reachable = {"draft"} | set(TRANSITIONS.values())
    assert reachable == set(STATES)
