"""Evaluate alert rules over the warehouse and turn breaches into alert transitions.

An alert is keyed by (rule, subject, period). Each run evaluates every
enabled rule over all the data its views hold (not a time window), so a
re-run or a backfill sees the same keys and changes nothing that did not
change. Transitions, each notified once:

    new key, condition holds            -> raised
    new key, already ended (`ongoing` false, e.g. a backfilled episode)
                                        -> raised and resolved at once; one
                                           notice ("raised", already over)
    open, rule says it ended            -> resolved (reason "ended")
    open, rule no longer returns it     -> resolved (reason "cleared": the
                                           condition stopped, or data changed)
    resolved, returned and holding again-> reopened

A rule whose views are absent (a domain not built yet) is skipped with a
note, and its open alerts are left as they are; so is a rule whose SQL fails
(the run reports it and fails at the end, after the other rules).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from envmon.alerts.rules import RULE_COLUMNS, AlertsConfig, Rule

log = logging.getLogger(__name__)

NOTICE_SCHEMA = "envmon.alert-notice.v1"


@dataclass(frozen=True)
class Breach:
    rule: str
    subject: str
    period: str
    value: float | None = None
    detail: str = ""
    subject_name: str | None = None
    ongoing: bool = True


@dataclass
class RuleOutcome:
    rule: str
    status: str  # evaluated | skipped | failed | disabled
    message: str = ""
    breaches: list[Breach] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Plan:
    """What a run changes: the new state, the events to append, the notices to send."""

    alerts: list[dict[str, Any]]
    events: list[dict[str, Any]]
    notices: list[dict[str, Any]]


def alert_id(rule: str, subject: str, period: str) -> str:
    """Stable id of the key (rule, subject, period)."""
    return hashlib.sha256(f"{rule}\x1f{subject}\x1f{period}".encode()).hexdigest()[:20]


# ----------------------------------------------------------------- evaluation


def available_views(con) -> set[str]:  # con: duckdb.DuckDBPyConnection
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {name for (name,) in rows}


def evaluate(con, config: AlertsConfig, now: datetime,
             only: set[str] | None = None) -> list[RuleOutcome]:
    """Run every enabled rule (or those in `only`) on a read-only warehouse connection."""
    views = available_views(con)
    outcomes = []
    for rule in config.rules.values():
        if only is not None and rule.id not in only:
            continue
        if not rule.enabled:
            outcomes.append(RuleOutcome(rule.id, "disabled", "disabled in configuration"))
            continue
        missing = [v for v in rule.requires if v not in views]
        if missing:
            note = f"view {', '.join(missing)} not in the warehouse yet"
            log.info("alert rule %s %s", rule.id, note)
            outcomes.append(RuleOutcome(rule.id, "skipped", note))
            continue
        started = time.perf_counter()
        try:
            breaches = run_rule(con, rule, now)
        except Exception as exc:  # a broken rule must not stop the others
            message = " ".join(str(exc).split())
            log.error("alert rule %s failed: %s", rule.id, message)
            outcomes.append(RuleOutcome(rule.id, "failed", message,
                                        seconds=time.perf_counter() - started))
            continue
        outcomes.append(RuleOutcome(rule.id, "evaluated", f"{len(breaches)} breach(es)",
                                    breaches, time.perf_counter() - started))
    return outcomes


def run_rule(con, rule: Rule, now: datetime) -> list[Breach]:
    from envmon.core.warehouse import refuse_writes

    refuse_writes(rule.sql)  # a rule only reads, whatever connection it is given
    result = con.execute(rule.sql, rule.sql_params(now))
    columns = [d[0] for d in result.description]
    unknown = [c for c in columns if c not in RULE_COLUMNS]
    if unknown or not {"subject", "period"} <= set(columns):
        raise ValueError(f"rule must return subject, period and optionally "
                         f"{', '.join(RULE_COLUMNS[2:])}; got {', '.join(columns)}")
    breaches: dict[tuple[str, str], Breach] = {}
    for values in result.fetchall():
        row = dict(zip(columns, values, strict=True))
        if row["subject"] is None or row["period"] is None:
            raise ValueError(f"rule returned a row without subject or period: {row}")
        key = (str(row["subject"]), str(row["period"]))
        if key in breaches:
            raise ValueError(f"rule returned the key subject={key[0]!r} period={key[1]!r} twice")
        value = row.get("value")
        breaches[key] = Breach(
            rule=rule.id, subject=key[0], period=key[1],
            value=None if value is None else float(value),
            detail="" if row.get("detail") is None else str(row["detail"]),
            subject_name=None if row.get("subject_name") is None else str(row["subject_name"]),
            ongoing=True if row.get("ongoing") is None else bool(row["ongoing"]))
    return list(breaches.values())


# ---------------------------------------------------------------- transitions


def plan(state: list[dict[str, Any]], outcomes: list[RuleOutcome], config: AlertsConfig,
         now: datetime, run_id: str) -> Plan:
    """The transitions `outcomes` cause on `state` (pure: nothing is written)."""
    alerts = {row["alert_id"]: dict(row) for row in state}
    events: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []

    def transition(row: dict[str, Any], event: str, message: str, notify: str | None) -> None:
        row["transitions"] = int(row.get("transitions") or 0) + 1
        seq_id = f"{row['alert_id']}-{row['transitions']}"
        events.append(_event(seq_id, now, run_id, row, event, message, notice_id=None))
        if notify:
            rule = config.rules.get(row["rule"])
            notices.append(make_notice(row, notify, seq_id, now,
                                       rule.recipients if rule else ()))
            events[-1]["notice_id"] = seq_id

    for outcome in outcomes:
        if outcome.status != "evaluated":
            continue
        rule = config.rules[outcome.rule]
        returned = set()
        for breach in outcome.breaches:
            aid = alert_id(breach.rule, breach.subject, breach.period)
            returned.add(aid)
            row = alerts.get(aid)
            if row is None:
                row = alerts[aid] = _new_row(aid, rule, breach, now, run_id)
                if not breach.ongoing:
                    # One notice, saying it is already over; no separate "resolved".
                    _resolve(row, now, "ended")
                transition(row, "raised", _describe(breach), "raised")
                if not breach.ongoing:
                    transition(row, "resolved", "already over when first seen", None)
                continue
            _refresh(row, rule, breach, now, run_id)
            if row["status"] == "open" and not breach.ongoing:
                _resolve(row, now, "ended")
                transition(row, "resolved", "condition ended", "resolved")
            elif row["status"] == "resolved" and breach.ongoing:
                row.update(status="open", resolved_at=None, resolve_reason=None)
                transition(row, "reopened", _describe(breach), "reopened")
        for row in alerts.values():
            if (row["rule"] == rule.id and row["status"] == "open"
                    and row["alert_id"] not in returned):
                _resolve(row, now, "cleared")
                row["last_run_id"] = run_id
                transition(row, "resolved", "no longer returned by the rule", "resolved")
    ordered = sorted(alerts.values(), key=lambda r: (r["first_raised_at"], r["rule"],
                                                     r["subject"], r["period"]))
    return Plan(ordered, events, notices)


def _new_row(aid: str, rule: Rule, breach: Breach, now: datetime, run_id: str) -> dict[str, Any]:
    return {"alert_id": aid, "rule": rule.id, "subject": breach.subject,
            "subject_name": breach.subject_name, "period": breach.period,
            "severity": rule.severity, "title": rule.title, "title_zh": rule.title_zh,
            "standard": rule.standard,
            "unit": rule.unit, "status": "open", "value": breach.value, "detail": breach.detail,
            "first_raised_at": now, "last_seen_at": now, "resolved_at": None,
            "resolve_reason": None, "transitions": 0, "last_run_id": run_id}


def _refresh(row: dict[str, Any], rule: Rule, breach: Breach, now: datetime, run_id: str) -> None:
    """Late data may change an episode's peak or length: keep the latest figures."""
    row.update(value=breach.value, detail=breach.detail, subject_name=breach.subject_name,
               last_seen_at=now, last_run_id=run_id, severity=rule.severity, title=rule.title,
               title_zh=rule.title_zh, standard=rule.standard, unit=rule.unit)


def _resolve(row: dict[str, Any], now: datetime, reason: str) -> None:
    row.update(status="resolved", resolved_at=now, resolve_reason=reason)


def _describe(breach: Breach) -> str:
    value = "" if breach.value is None else f"value {breach.value:g}; "
    return f"{value}{breach.detail}".strip("; ")


def _event(event_id: str, at: datetime, run_id: str, row: dict[str, Any], event: str,
           message: str, *, notice_id: str | None, channel: str | None = None,
           attempt: int | None = None) -> dict[str, Any]:
    return {"event_id": event_id, "at": at, "run_id": run_id, "alert_id": row["alert_id"],
            "rule": row["rule"], "subject": row["subject"], "period": row["period"],
            "event": event, "notice_id": notice_id, "channel": channel, "attempt": attempt,
            "message": message}


def make_notice(row: dict[str, Any], kind: str, notice_id: str, now: datetime,
                recipients: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """A notice: what the outbox delivers. `payload` is the webhook body, as data."""
    alert = {k: _jsonable(row.get(k)) for k in (
        "alert_id", "rule", "title", "title_zh", "standard", "severity", "subject", "subject_name",
        "period", "value", "unit", "detail", "status", "first_raised_at", "resolved_at",
        "resolve_reason")}
    payload = {"schema": NOTICE_SCHEMA, "notice_id": notice_id, "kind": kind,
               "created_at": _jsonable(now), "alert": alert}
    return {"notice_id": notice_id, "alert_id": row["alert_id"], "kind": kind,
            "created_at": now, "recipients": list(recipients), "payload": payload}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def payload_json(payload: dict[str, Any]) -> str:
    """Canonical JSON (sorted keys, no spaces, UTF-8 kept): the exact bytes that are signed."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
