"""The outbox against real receivers: retries with backoff, a channel down, no duplicates."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from envmon.alerts import store
from envmon.alerts.channels import open_sender
from envmon.alerts.channels.webhook import sign, verify_signature
from envmon.alerts.engine import make_notice
from envmon.alerts.outbox import deliver, enqueue
from envmon.alerts.rules import parse_config
from envmon.core.errors import ConfigError
from tests.alerts.conftest import ROOT, config_data, make_config
from tests.alerts.servers import SmtpServer, self_signed_certificate

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


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_login_over_verified_tls(envmon_home: Path, monkeypatch, certificate,
                                       security: str) -> None:
    """A real TLS server with a self-signed certificate that the channel trusts (ca_file)."""
    server = SmtpServer(credentials=("envmon-alerts", "s3cret-pass"), tls=security,
                        cert=certificate)
    server.start()
    try:
        config = make_config(smtp=server, smtp_user="envmon-alerts")
        assert config.channels["duty-email"].get("security") == security
        queue(config, 2)
        # Password not in the environment: nothing is lost, the notices wait.
        monkeypatch.delenv("ENVMON_TEST_SMTP_PASSWORD", raising=False)
        missing = deliver(config, NOW)
        assert (missing.sent, missing.failed, missing.deferred) == (0, 1, 1)
        assert "ENVMON_TEST_SMTP_PASSWORD not set" in outbox("duty-email")[0]["last_error"]

        monkeypatch.setenv("ENVMON_TEST_SMTP_PASSWORD", "s3cret-pass")
        assert deliver(config, NOW + timedelta(minutes=5)).sent == 2
        # Logged in once, on an encrypted connection.
        assert server.inbox.logins == [("envmon-alerts", True)]
        first, second = server.messages
        assert first["Message-ID"] == "<alert0-1@envmon.example.gov.cn>"
        assert first["X-Envmon-Notice-Id"] == "alert0-1"
        assert first["Subject"].startswith("[envmon] CRITICAL RAISED: ")
        assert second["Subject"].startswith("[envmon] CRITICAL RESOLVED: ")
        assert json.loads(next(first.iter_attachments()).get_content())["kind"] == "raised"
    finally:
        server.stop()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
@pytest.mark.parametrize("trust", ["another certificate", "system store"])
def test_email_refuses_an_untrusted_certificate(envmon_home: Path, monkeypatch, tmp_path: Path,
                                                certificate, security: str, trust: str) -> None:
    server = SmtpServer(credentials=("envmon-alerts", "s3cret-pass"), tls=security,
                        cert=certificate)
    server.start()
    try:
        config = make_config(smtp=server, smtp_user="envmon-alerts")
        settings = config.channels["duty-email"].settings
        if trust == "system store":
            settings.pop("ca_file")
        else:
            settings["ca_file"] = str(self_signed_certificate(tmp_path / "other").cert_file)
        monkeypatch.setenv("ENVMON_TEST_SMTP_PASSWORD", "s3cret-pass")
        queue(config, 1)
        summary = deliver(config, NOW)
        assert (summary.sent, summary.failed) == (0, 1)
        [row] = outbox("duty-email")
        assert row["status"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
        assert server.inbox.logins == [] and server.messages == []
    finally:
        server.stop()


def test_credentials_without_tls_are_a_configuration_error() -> None:
    from tests.alerts.conftest import shipped_config_data

    data = shipped_config_data()
    data["channels"]["duty-email"].update(security="none", username="envmon-alerts")
    with pytest.raises(ConfigError, match="security: none.*in clear.*starttls or ssl"):
        parse_config(data)


def test_airflow_login_without_tls_is_refused_before_connecting(envmon_home: Path,
                                                                 monkeypatch) -> None:
    """The login comes from the Airflow connection, so only the sender can see it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    try:
        data = config_data()
        data["channels"]["duty-email"].update(enabled=True, security="none",
                                              airflow_conn_id="envmon_smtp")
        data["channels"]["duty-email"].pop("host")
        data["channels"]["duty-email"].pop("port")
        config = parse_config(data)
        monkeypatch.setenv("AIRFLOW_CONN_ENVMON_SMTP",
                           f"smtp://envmon-alerts:s3cret-pass@127.0.0.1:{port}")
        queue(config, 1)
        summary = deliver(config, NOW)
        assert (summary.sent, summary.failed) == (0, 1)
        [row] = outbox("duty-email")
        assert row["status"] == "pending"
        assert "security: none" in row["last_error"] and "s3cret" not in row["last_error"]
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever connected
    finally:
        listener.close()


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


# ------------------------------------------------- a crash in the middle of a channel


class SimulatedCrash(BaseException):
    """Not an Exception: nothing in the outbox may catch it, as with a killed process."""


class CrashingSender:
    """A real sender whose process 'dies' just before sending notice number `after + 1`."""

    def __init__(self, sender, after: int) -> None:
        self.sender, self.after, self.sent = sender, after, 0

    def send(self, item, *, attempt: int) -> str:
        if self.sent == self.after:
            raise SimulatedCrash()
        self.sent += 1
        return self.sender.send(item, attempt=attempt)

    def close(self) -> None:
        self.sender.close()


def delivered_events() -> list[str]:
    return [e["notice_id"] for e in store.read("alert_events") if e["event"] == "delivered"]


def test_crash_mid_channel_keeps_the_history_of_what_was_sent(envmon_home: Path, webhook,
                                                              webhook_secret) -> None:
    config = make_config(webhook=webhook)
    ids = queue(config, 4)

    with pytest.raises(SimulatedCrash):
        deliver(config, NOW, sender_factory=lambda channel, cfg: CrashingSender(
            open_sender(channel, cfg), after=2))
    assert [r.headers["idempotency-key"] for r in webhook.requests] == ids[:2]
    # Both notices the receiver accepted are recorded: sent, with their event.
    assert [r["notice_id"] for r in outbox("bureau-webhook") if r["status"] == "sent"] == ids[:2]
    assert delivered_events() == ids[:2]

    rerun = deliver(config, NOW + timedelta(minutes=1))
    assert rerun.sent == 2
    # Each notice went out once, and the history has each once.
    assert [r.headers["idempotency-key"] for r in webhook.requests] == ids
    assert delivered_events() == ids


def test_crash_between_outbox_and_history_is_completed_by_the_next_run(
        envmon_home: Path, webhook, webhook_secret, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(webhook=webhook)
    ids = queue(config, 3)
    real_append = store.append_events

    def crash(rows):
        raise SimulatedCrash()

    monkeypatch.setattr(store, "append_events", crash)
    with pytest.raises(SimulatedCrash):
        deliver(config, NOW)
    sent = [r["notice_id"] for r in outbox("bureau-webhook") if r["status"] == "sent"]
    assert sent and store.read("alert_events") == []
    monkeypatch.setattr(store, "append_events", real_append)

    rerun = deliver(config, NOW + timedelta(minutes=1))
    assert rerun.sent == len(ids) - len(sent)
    assert [r.headers["idempotency-key"] for r in webhook.requests] == ids  # none twice
    # The event the crash lost is written by the next run, under the same id.
    assert delivered_events() == ids
    assert len({e["event_id"] for e in store.read("alert_events")}) == len(ids)


def test_killed_delivery_process_leaves_its_sent_notices_recorded(
        envmon_home: Path, tmp_path: Path, webhook, webhook_secret) -> None:
    """A real process, killed (SIGKILL) while the receiver holds its third request."""
    config_file = tmp_path / "alerts.yaml"
    config_file.write_text(yaml.safe_dump(config_data(webhook=webhook), allow_unicode=True),
                           encoding="utf-8")
    config = make_config(webhook=webhook)
    ids = queue(config, 4)
    webhook.hold_from = 2
    code = textwrap.dedent(f"""
        from datetime import datetime
        from envmon.alerts.outbox import deliver
        from envmon.alerts.rules import load_config
        deliver(load_config(), datetime.fromisoformat({NOW.isoformat()!r}))
    """)
    env = {**os.environ, "ENVMON_ALERTS_CONFIG": str(config_file)}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(webhook.requests) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(webhook.requests) == 3, proc.communicate()[1].decode()[-2000:]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    webhook.release()
    assert [r["notice_id"] for r in outbox("bureau-webhook") if r["status"] == "sent"] == ids[:2]
    assert delivered_events() == ids[:2]

    rerun = deliver(config, NOW + timedelta(minutes=1))
    # The held notice never got its answer, so it goes again (same Idempotency-Key:
    # at-least-once); the two recorded as sent do not.
    assert rerun.sent == 2
    assert [r.headers["idempotency-key"] for r in webhook.requests] == ids[:3] + ids[2:]
    assert delivered_events() == ids
