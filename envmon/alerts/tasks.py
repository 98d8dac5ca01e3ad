"""What the alerts DAG's tasks call, and the failure callback for every DAG.

Cheap to import at DAG parse time: only the standard library at module
level; pyarrow, duckdb and the rest are imported inside the functions.

    from envmon.alerts.tasks import notify_task_failure
    DAG(..., default_args={..., "on_failure_callback": notify_task_failure})
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

TASK_FAILURE_RULE = "task_failure"


def evaluate_rules(now: datetime | None = None) -> dict[str, Any]:
    """Evaluate every rule, record transitions and queue notices; fail if a rule failed."""
    from envmon.alerts.service import run
    from envmon.core.errors import EnvmonError

    summary = run(now=now, deliver_notices=False)
    for line in summary.lines():
        log.info("%s", line)
    if summary.failed_rules:
        # After the other rules ran and were recorded: the failure is about
        # the broken rule (its SQL or a changed view), and operators hear of it.
        raise EnvmonError("alert rule(s) failed: " + "; ".join(
            f"{o.rule}: {o.message}" for o in summary.failed_rules))
    return summary.as_dict()


def deliver_outbox(now: datetime | None = None) -> dict[str, Any]:
    """Send due notices. A channel that is down is not a task failure: the
    outbox retries it on later runs, and `alert_delivery_stuck` raises an
    alert (through the other channels) when notices wait too long."""
    from envmon.alerts.outbox import deliver
    from envmon.alerts.rules import load_config

    summary = deliver(load_config(), now)
    log.info("%s", summary.line())
    return dict(summary.__dict__)


def notify_task_failure(context: dict[str, Any]) -> None:
    """Airflow on_failure_callback: tell the operators' channels, once per task run.

    Never raises: a failing callback must not hide the task's own failure.
    The notice is queued in the outbox first, so if a channel is down now,
    the alerts DAG delivers it later.
    """
    try:
        ti = context.get("task_instance") or context.get("ti")
        exception = context.get("exception")
        record_task_failure(
            dag_id=str(getattr(ti, "dag_id", None) or context.get("dag_id") or "?"),
            task_id=str(getattr(ti, "task_id", None) or "?"),
            run_id=str(getattr(ti, "run_id", None) or context.get("run_id") or "?"),
            map_index=getattr(ti, "map_index", -1),
            try_number=getattr(ti, "try_number", None),
            error="" if exception is None else f"{type(exception).__name__}: {exception}",
            log_url=getattr(ti, "log_url", None),
            deliver_now=True)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("envmon: could not record the task failure notice")


def record_task_failure(*, dag_id: str, task_id: str, run_id: str, map_index: int | None = -1,
                        try_number: int | None = None, error: str = "",
                        log_url: str | None = None, now: datetime | None = None,
                        config=None, deliver_now: bool = False) -> str | None:
    """Store a task-failure alert and queue its notice; None if already recorded.

    Key: rule `task_failure`, subject `dag.task[map index]`, period the run
    id; status `notified` (a one-shot notice: nothing to watch for its end).
    """
    from envmon.alerts import store
    from envmon.alerts.engine import alert_id, make_notice
    from envmon.alerts.outbox import deliver, enqueue
    from envmon.alerts.rules import load_config

    config = config or load_config()
    now = now or datetime.now(UTC)
    subject = f"{dag_id}.{task_id}" + (f"[{map_index}]" if map_index not in (None, -1) else "")
    aid = alert_id(TASK_FAILURE_RULE, subject, run_id)
    detail = "; ".join(part for part in (
        f"try {try_number}" if try_number else "", " ".join(error.split())[:500],
        f"log: {log_url}" if log_url else "") if part)
    with store.store_lock():
        alerts = store.read("alerts")
        if any(row["alert_id"] == aid for row in alerts):
            return None
        row = {"alert_id": aid, "rule": TASK_FAILURE_RULE, "subject": subject,
               "subject_name": None, "period": run_id, "severity": "high",
               "title": "Airflow task failed", "title_zh": "Airflow任务失败",
               "standard": "", "unit": "", "status": "notified", "value": None,
               "detail": detail, "first_raised_at": now, "last_seen_at": now,
               "resolved_at": None, "resolve_reason": None, "transitions": 1,
               "last_run_id": run_id}
        notice_id = f"{aid}-1"
        notice = make_notice(row, "notified", notice_id, now, config.operators)
        enqueue([notice], config, now)
        store.append_events([{"event_id": notice_id, "at": now, "run_id": run_id,
                              "alert_id": aid, "rule": TASK_FAILURE_RULE, "subject": subject,
                              "period": run_id, "event": "notified", "notice_id": notice_id,
                              "channel": None, "attempt": None, "message": detail}])
        store.write("alerts", alerts + [row])
    if deliver_now:
        deliver(config, now)
    return notice_id
