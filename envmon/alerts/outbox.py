"""The outbox: one row per notice x channel, delivered and retried until accepted.

Enqueueing is idempotent (the row id is notice id + channel), so a notice is
queued once however often a run repeats. Delivery takes the store lock, so
two runs never send the same row. A failed attempt sets `next_attempt_at`
by exponential backoff (config `delivery`); a channel that is down (refused
connection, timeout, 5xx, 429) is not tried again in the same run, and its
rows wait, in order, for a later run. Rows are never dropped: nothing is lost
while a channel is down, and a row is marked sent as soon as the channel
accepts it, so nothing is sent twice, except if the process dies between
the channel accepting and the outbox recording it: then it is sent again
with the same idempotency key (webhook) / Message-ID (email), which the
receiver uses to drop the copy.

Each attempt is recorded as it happens, outbox row first, then its event
(`delivered` or `failed`), each write atomic, so a crash mid-channel keeps
the history of the notices already sent. A crash between those two writes
leaves a row whose last attempt has no event: the next delivery writes it
(same event id, so never twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from envmon.alerts import store
from envmon.alerts.channels import DeliveryError, Sender, open_sender
from envmon.alerts.engine import payload_json
from envmon.alerts.rules import AlertsConfig

log = logging.getLogger(__name__)


@dataclass
class DeliverySummary:
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # not tried: their channel was down earlier in this run
    waiting: int = 0  # pending, not due yet or their channel is disabled
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (f"delivery: {self.sent} sent, {self.failed} failed, {self.deferred} deferred, "
                f"{self.waiting} waiting")
        return text + (f" ({'; '.join(self.errors)})" if self.errors else "")


def enqueue(notices: list[dict[str, Any]], config: AlertsConfig, now: datetime) -> int:
    """Queue each notice for each of its enabled channels; caller holds the store lock."""
    rows = store.read("outbox")
    known = {row["outbox_id"] for row in rows}
    added = 0
    for notice in notices:
        for name in notice["recipients"]:
            channel = config.channels.get(name)
            # A disabled channel gets nothing queued: enabling it later must
            # not flood its receiver with old notices.
            if channel is None or not channel.enabled:
                continue
            outbox_id = f"{notice['notice_id']}:{name}"
            if outbox_id in known:
                continue
            known.add(outbox_id)
            rows.append({"outbox_id": outbox_id, "notice_id": notice["notice_id"],
                         "alert_id": notice["alert_id"], "kind": notice["kind"],
                         "channel": name, "status": "pending", "created_at": now,
                         "attempts": 0, "next_attempt_at": now, "last_attempt_at": None,
                         "last_error": None, "sent_at": None,
                         "payload": payload_json(notice["payload"])})
            added += 1
    if added:
        store.write("outbox", rows)
    return added


def deliver(config: AlertsConfig, now: datetime | None = None, run_id: str = "",
            sender_factory=open_sender) -> DeliverySummary:
    """Send every due pending row, channel by channel, oldest first."""
    now = now or datetime.now(UTC)
    summary = DeliverySummary()
    with store.store_lock():
        rows = store.read("outbox")
        _record_lost_events(rows, now, run_id)
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for row in sorted(rows, key=lambda r: (r["created_at"], r["notice_id"])):
            if row["status"] != "pending":
                continue
            if row["next_attempt_at"] is not None and row["next_attempt_at"] > now:
                summary.waiting += 1
                continue
            by_channel.setdefault(row["channel"], []).append(row)
        for name, due in by_channel.items():
            channel = config.channels.get(name)
            if channel is None or not channel.enabled:
                summary.waiting += len(due)
                summary.errors.append(f"{name}: channel not configured or disabled, "
                                      f"{len(due)} notice(s) wait")
                continue
            _deliver_channel(config, channel, due, rows, now, run_id, summary, sender_factory)
    return summary


def _record_lost_events(rows: list[dict[str, Any]], now: datetime, run_id: str) -> None:
    """Write the event of each row's last attempt if a crash lost it; caller holds the lock.

    The outbox row is written before its event, so the row is the truth:
    `sent` means the channel accepted attempt `attempts`, pending with an
    error means that attempt failed.
    """
    known = {event["event_id"] for event in store.read("alert_events")}
    lost = []
    for row in rows:
        attempt = int(row["attempts"] or 0)
        if attempt == 0 or f"{row['outbox_id']}#{attempt}" in known:
            continue
        if row["status"] == "sent":
            lost.append(_event(row, row["sent_at"] or now, run_id, "delivered", attempt,
                               "accepted; recorded by a later run (the sending run stopped "
                               "before writing this event)"))
        else:
            lost.append(_event(row, row["last_attempt_at"] or now, run_id, "failed", attempt,
                               f"{row['last_error']}; recorded by a later run"))
    if lost:
        store.append_events(lost)


def _deliver_channel(config: AlertsConfig, channel, due: list[dict[str, Any]],
                     rows: list[dict[str, Any]], now: datetime, run_id: str,
                     summary: DeliverySummary, sender_factory) -> None:
    sender: Sender = sender_factory(channel, config)
    try:
        for position, row in enumerate(due):
            attempt = int(row["attempts"] or 0) + 1
            row.update(attempts=attempt, last_attempt_at=now)
            try:
                answer = sender.send(row, attempt=attempt)
            except DeliveryError as exc:
                wait = config.delivery.backoff(attempt)
                row.update(last_error=str(exc), next_attempt_at=now + timedelta(seconds=wait))
                summary.failed += 1
                log.warning("alert notice %s to %s failed (attempt %d): %s", row["notice_id"],
                            channel.name, attempt, exc)
                rest = due[position + 1:] if exc.channel_down else []
                # A channel that is down is not tried again in this run; the
                # rest wait as long as this one, so that when it is back they
                # go out in order (raised before resolved).
                for later in rest:
                    later["next_attempt_at"] = row["next_attempt_at"]
                _record(rows, _event(row, now, run_id, "failed", attempt,
                                     f"{exc}; next try in {wait:.0f}s"))
                if exc.channel_down:
                    summary.deferred += len(rest)
                    summary.errors.append(f"{channel.name}: {exc}; {len(rest)} more deferred")
                    break
                summary.errors.append(f"{channel.name}: {exc}")
                continue
            row.update(status="sent", sent_at=now, last_error=None, next_attempt_at=None)
            # Recorded at once, so a crash later in the run can neither
            # resend it nor lose its history.
            _record(rows, _event(row, now, run_id, "delivered", attempt, answer))
            summary.sent += 1
    finally:
        sender.close()


def _record(rows: list[dict[str, Any]], event: dict[str, Any]) -> None:
    """One attempt, durably: the outbox (the truth about what was sent), then its event."""
    store.write("outbox", rows)
    store.append_events([event])


def _event(row: dict[str, Any], at: datetime, run_id: str, event: str, attempt: int,
           message: str) -> dict[str, Any]:
    import json

    alert = json.loads(row["payload"]).get("alert", {})
    return {"event_id": f"{row['outbox_id']}#{attempt}", "at": at, "run_id": run_id,
            "alert_id": row["alert_id"], "rule": alert.get("rule"),
            "subject": alert.get("subject"), "period": alert.get("period"), "event": event,
            "notice_id": row["notice_id"], "channel": row["channel"], "attempt": attempt,
            "message": message}


def pending(rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows = store.read("outbox") if rows is None else rows
    return [r for r in rows if r["status"] == "pending"]
