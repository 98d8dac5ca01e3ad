"""The manifest lifecycle as explicit states and allowed transitions.

    draft --created--> created --departed--> in_transit --received--> received
    received --confirmed--> confirmed
    in_transit --rejected--> rejected      (refused at the gate)
    received --rejected--> rejected        (refused after inspection, Art. 18)
    corrected: allowed in any state after created, the state does not change

(危险废物转移管理办法 Art. 10-12 give the shipper, carrier and receiver their
turns; Art. 18 the receiver's acceptance or refusal and confirmation.)
"draft" is a manifest entered in the system with no event yet.

Events are replayed in time order (ties: the lifecycle order of their
types). An event the current state does not allow is a violation, reported
with what it broke ("received before departure", "confirmed twice"); the
replay then moves to the event's state if that is further along, so one
misplaced event is reported once and the manifest still gets a state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from envmon.core.timeutil import BEIJING

STATES: tuple[str, ...] = ("draft", "created", "in_transit", "received", "confirmed",
                           "rejected")
TERMINAL = frozenset({"confirmed", "rejected"})

# (state, event) -> next state: the only moves the measures allow.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "created"): "created",
    ("created", "departed"): "in_transit",
    ("in_transit", "received"): "received",
    ("in_transit", "rejected"): "rejected",
    ("received", "confirmed"): "confirmed",
    ("received", "rejected"): "rejected",
}
# Where an event leads when it arrives out of order (None: it does not move).
TARGET: dict[str, str | None] = {"created": "created", "departed": "in_transit",
                                 "received": "received", "confirmed": "confirmed",
                                 "rejected": "rejected", "corrected": None}
RANK: dict[str, int] = {"draft": 0, "created": 1, "in_transit": 2, "received": 3,
                        "confirmed": 4, "rejected": 4}
# Events at the same instant are taken in lifecycle order.
TYPE_ORDER: dict[str, int] = {"created": 0, "departed": 1, "received": 2, "rejected": 3,
                              "confirmed": 3, "corrected": 5}
# What must come before an event, to word a violation.
_NEEDS: dict[str, str] = {"created": "", "departed": "creation", "received": "departure",
                          "confirmed": "receipt", "rejected": "departure",
                          "corrected": "creation"}


@dataclass
class Replay:
    state: str = "draft"
    first: dict[str, datetime] = field(default_factory=dict)  # first time of each event type
    violations: list[str] = field(default_factory=list)


def replay(events: list[tuple[str, datetime]]) -> Replay:
    """Replay (event_type, at) pairs; unknown types are refused before this point."""
    result = Replay()
    for kind, at in sorted(events, key=lambda e: (e[1], TYPE_ORDER[e[0]])):
        state = result.state
        if kind == "corrected":
            if state == "draft":
                result.violations.append(f"corrected at {_fmt(at)} before creation")
        elif (state, kind) in TRANSITIONS:
            result.state = TRANSITIONS[(state, kind)]
        else:
            result.violations.append(_describe(kind, at, state, result.first))
            target = TARGET[kind]
            if target is not None and RANK[target] > RANK[state]:
                result.state = target
        result.first.setdefault(kind, at)
    return result


_REACHED: dict[str, str] = {"created": "creation", "in_transit": "departure",
                            "received": "receipt"}


def _describe(kind: str, at: datetime, state: str, first: dict[str, datetime]) -> str:
    if kind in first:
        return f"{kind} twice (at {_fmt(first[kind])} and {_fmt(at)})"
    if state in TERMINAL:
        return f"{kind} at {_fmt(at)} after the manifest was {state}"
    target = TARGET[kind]
    if target is not None and RANK[target] <= RANK[state]:
        return f"{kind} at {_fmt(at)} after {_REACHED[state]}"
    return f"{kind} at {_fmt(at)} before {_NEEDS[kind]}"


def _fmt(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
