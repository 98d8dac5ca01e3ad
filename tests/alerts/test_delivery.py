"""The outbox against real receivers: retries with backoff, a channel down, no duplicates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.alerts import store
from pipelines.alerts.channels.webhook import sign, verify_signature
from pipelines.alerts.engine import make_notice
from pipelines.alerts.outbox import deliver, enqueue
from tests.alerts.conftest import make_config

NOW = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


def queue(config, count: int, now: datetime = NOW) -> list[str]:
    """`count` notices (raised, then resolved for the same alert when count is even)."""
    notices = []
    for n in range(count):
        alert = n // 2
        row = {"alert_id": f"alert{alert}", "rule": "heavy_pollution_red",
               "title": "Heavy-pollution alert level red reached (observed)", "title_zh": "",
               "standard": "环大气〔2024〕6号", "severity": "critical", "subject": "310000",
               "subject_name": "Shanghai 上海市", "period": f"2026-10-0{alert + 1}",
               "value": 370.0, "unit": "AQI", "detail": "", "status": "open",
               "first_raised_at": now, "resolved_at": None, "resolve_reason": None}
        kind = "raised" if n % 2 == 0 else "resolved"
        notices.append(make_notice(row, kind, f"alert{alert}-{n % 2 + 1}", now + timedelta(
            seconds=n), ["duty-email", "bureau-webhook"]))
    with store.store_lock():
        enqueue(notices, config, now)
    return [n["notice_id"] for n in notices]


def outbox(channel: str) -> list[dict]:
    return [r for r in store.read("outbox") if r["channel"] == channel]


def test_webhook_fails_first_then_is_retried_after_backoff(envmon_home: Path, webhook,
                                                           webhook_secret) -> None:
    config = make_config(webhook=webhook)
    webhook.statuses = [500]  # the first request fails, then 200
    [notice_id] = queue(config, 1)

    first = deliver(config, NOW)
    assert (first.sent, first.failed) == (0, 1)
    [row] = outbox("bureau-webhook")
    # backoff: 60 s after the first failed attempt
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["next_attempt_at"] == NOW + timedelta(seconds=60)
    assert "HTTP 500" in row["last_error"]

    # Not due yet: nothing is sent.
    assert deliver(config, NOW + timedelta(seconds=59)).sent == 0
    assert len(webhook.requests) == 1

    second = deliver(config, NOW + timedelta(seconds=60))
    assert second.sent == 1
    assert deliver(config, NOW + timedelta(hours=1)).sent == 0  # sent once, never again
    assert [r.status for r in webhook.requests] == [500, 200]
    # Both attempts carry the same idempotency key and byte-identical body.
    assert {r.headers["idempotency-key"] for r in webhook.requests} == {notice_id}
    assert webhook.requests[0].body == webhook.requests[1].body
    assert [r.headers["x-envmon-attempt"] for r in webhook.requests] == ["1", "2"]
    events = [(e["event"], e["attempt"]) for e in store.read("alert_events")]
    assert events == [("failed", 1), ("delivered", 2)]


def test_channel_down_then_back_delivers_everything_once_in_order(
        envmon_home: Path, webhook, webhook_secret) -> None:
    config = make_config(webhook=webhook)
    webhook.stop()  # connection refused
    ids = queue(config, 4)

    down = deliver(config, NOW)
    # One attempt fails; the other three are not tried (channel down) and wait as long.
    assert (down.sent, down.failed, down.deferred) == (0, 1, 3)
    rows = outbox("bureau-webhook")
    assert [r["attempts"] for r in rows] == [1, 0, 0, 0]
    assert {r["next_attempt_at"] for r in rows} == {NOW + timedelta(seconds=60)}
    assert "ConnectionError" in rows[0]["last_error"]

    # Still down at the next try: backoff doubles (60 s, then 120 s).
    again = deliver(config, NOW + timedelta(seconds=60))
    assert again.failed == 1
    assert outbox("bureau-webhook")[0]["next_attempt_at"] == NOW + timedelta(seconds=180)

    webhook.start()  # back, on the same port
    back = deliver(config, NOW + timedelta(seconds=180))
    assert back.sent == 4 and back.failed == 0
    assert [r.headers["idempotency-key"] for r in webhook.requests] == ids
    assert [r.json()["kind"] for r in webhook.requests] == ["raised", "resolved"] * 2
    assert deliver(config, NOW + timedelta(days=1)).sent == 0
    assert len(webhook.requests) == 4


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_with_auth_from_the_environment(envmon_home: Path, monkeypatch) -> None:
    from tests.alerts.servers import SmtpServer

    server = SmtpServer(credentials=("envmon-alerts", "s3cret-pass"))
    server.start()
    try:
        config = make_config(smtp=server, smtp_user="envmon-alerts")
        queue(config, 2)
        # Password not in the environment: nothing is lost, the notices wait.
        monkeypatch.delenv("ENVMON_TEST_SMTP_PASSWORD", raising=False)
        missing = deliver(config, NOW)
        assert (missing.sent, missing.failed, missing.deferred) == (0, 1, 1)
        assert "ENVMON_TEST_SMTP_PASSWORD not set" in outbox("duty-email")[0]["last_error"]

        monkeypatch.setenv("ENVMON_TEST_SMTP_PASSWORD", "s3cret-pass")
        assert deliver(config, NOW + timedelta(minutes=5)).sent == 2
        assert server.inbox.logins == ["envmon-alerts"]
        first, second = server.messages
        assert first["Message-ID"] == "<alert0-1@envmon.example.gov.cn>"
        assert first["X-Envmon-Notice-Id"] == "alert0-1"
        assert first["Subject"].startswith("[envmon] CRITICAL RAISED: ")
        assert second["Subject"].startswith("[envmon] CRITICAL RESOLVED: ")
        assert json.loads(next(first.iter_attachments()).get_content())["kind"] == "raised"
    finally:
        server.stop()


def test_email_settings_from_an_airflow_connection(envmon_home: Path, smtp_server,
                                                   monkeypatch) -> None:
    from tests.alerts.conftest import shipped_config_data

    data = shipped_config_data()
    config = make_config(smtp=smtp_server, data=data)
    email = config.channels["duty-email"].settings
    email.pop("host")
    email.pop("port")
    email["airflow_conn_id"] = "envmon_smtp"
    monkeypatch.setenv("AIRFLOW_CONN_ENVMON_SMTP", f"smtp://127.0.0.1:{smtp_server.port}")
    queue(config, 1)
    assert deliver(config, NOW).sent == 1
    assert len(smtp_server.messages) == 1


def test_smtp_down_is_retried(envmon_home: Path) -> None:
    from tests.alerts.servers import SmtpServer

    first = SmtpServer()
    first.start()
    port = first.port
    config = make_config(smtp=first)
    first.stop()  # connection refused from now on
    queue(config, 1)
    assert deliver(config, NOW).failed == 1
    assert outbox("duty-email")[0]["status"] == "pending"
    back = SmtpServer(port=port)
    back.start()
    try:
        assert deliver(config, NOW + timedelta(seconds=60)).sent == 1
        assert len(back.messages) == 1 and first.messages == []
    finally:
        back.stop()


def test_disabled_channel_gets_nothing_queued(envmon_home: Path, webhook) -> None:
    config = make_config(webhook=None)
    queue(config, 2)
    assert store.read("outbox") == []


@pytest.mark.parametrize("tamper", ["body", "timestamp", "secret", "old"])
def test_signature_verification_rejects_tampering(tamper: str) -> None:
    body = b'{"kind":"raised","notice_id":"abc-1"}'
    sent = 1_790_000_000
    timestamp = str(sent)
    signature = sign("k3y", timestamp, body)
    assert verify_signature("k3y", timestamp, body, signature, now=sent + 10)
    args = {"body": ("k3y", timestamp, body + b" ", signature, sent),
            "timestamp": ("k3y", str(sent + 1), body, signature, sent),
            "secret": ("other", timestamp, body, signature, sent),
            "old": ("k3y", timestamp, body, signature, sent + 301)}[tamper]
    secret, ts, raw, sig, now = args
    assert not verify_signature(secret, ts, raw, sig, now=now)
