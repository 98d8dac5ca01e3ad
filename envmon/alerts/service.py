"""One alerts run: evaluate the rules, record transitions, queue notices, deliver.

`envmon alerts run`, the Airflow DAG and the demo all call `run()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from envmon.alerts import store
from envmon.alerts.engine import RuleOutcome, evaluate, plan
from envmon.alerts.outbox import DeliverySummary, deliver, enqueue
from envmon.alerts.rules import AlertsConfig, load_config


@dataclass
class RunSummary:
    run_id: str
    now: datetime
    outcomes: list[RuleOutcome]
    transitions: dict[str, int] = field(default_factory=dict)
    queued: int = 0
    open_alerts: int = 0
    delivery: DeliverySummary | None = None

    @property
    def failed_rules(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def lines(self) -> list[str]:
        counts = ", ".join(f"{self.transitions.get(k, 0)} {k}"
                           for k in ("raised", "resolved", "reopened"))
        lines = [f"alerts: {counts}; {self.open_alerts} open; {self.queued} notice(s) queued "
                 f"(run {self.run_id})"]
        for outcome in self.outcomes:
            if outcome.status == "evaluated":
                lines.append(f"  {outcome.rule:<34} {outcome.message} ({outcome.seconds:.2f}s)")
            else:
                lines.append(f"  {outcome.rule:<34} {outcome.status}: {outcome.message}")
        if self.delivery is not None:
            lines.append(self.delivery.line())
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "now": self.now.isoformat(),
                "transitions": self.transitions, "queued": self.queued,
                "open_alerts": self.open_alerts,
                "rules": {o.rule: {"status": o.status, "message": o.message,
                                   "breaches": len(o.breaches)} for o in self.outcomes},
                "delivery": None if self.delivery is None else self.delivery.__dict__}


def run(*, now: datetime | None = None, config: AlertsConfig | None = None,
        deliver_notices: bool = True, warehouse: Path | None = None,
        only: set[str] | None = None) -> RunSummary:
    """Evaluate rules on the warehouse (read-only), record what changed, send notices.

    `now` is the evaluation instant (staleness is measured against it and
    it stamps the events); tests and backfills pass it, the default is the
    wall clock.
    """
    from envmon.core.ledger import new_run_id
    from envmon.core.warehouse import connect_locked

    config = config or load_config()
    now = now or datetime.now(UTC)
    run_id = new_run_id()
    # Rule SQL is configuration anyone with the file can change: it reads the
    # views and no other file (envmon/core/warehouse.py).
    con = connect_locked(warehouse)
    try:
        outcomes = evaluate(con, config, now, only)
    finally:
        con.close()
    summary = RunSummary(run_id, now, outcomes)
    with store.store_lock():
        # State is read under the lock: a concurrent run that finished first
        # is seen, and the same breaches then cause no transition here.
        changes = plan(store.read("alerts"), outcomes, config, now, run_id)
        # Outbox first, then history, then state: see envmon/alerts/store.py.
        summary.queued = enqueue(changes.notices, config, now)
        store.append_events(changes.events)
        store.write("alerts", changes.alerts)
    for event in changes.events:
        summary.transitions[event["event"]] = summary.transitions.get(event["event"], 0) + 1
    summary.open_alerts = sum(row["status"] == "open" for row in changes.alerts)
    if deliver_notices:
        summary.delivery = deliver(config, now, run_id)
    return summary


def list_alerts(*, open_only: bool = False) -> list[dict[str, Any]]:
    """Stored alerts (task failures included) with how their notices stand in the outbox."""
    rows = store.read("alerts")
    outbox = store.read("outbox")
    sent: dict[str, int] = {}
    waiting: dict[str, int] = {}
    for item in outbox:
        bucket = sent if item["status"] == "sent" else waiting
        bucket[item["alert_id"]] = bucket.get(item["alert_id"], 0) + 1
    if open_only:
        rows = [r for r in rows if r["status"] == "open"]
    for row in rows:
        row["notices_sent"] = sent.get(row["alert_id"], 0)
        row["notices_waiting"] = waiting.get(row["alert_id"], 0)
    return sorted(rows, key=lambda r: (r["status"] != "open", r["first_raised_at"],
                                       r["rule"], r["period"], r["subject"]))
