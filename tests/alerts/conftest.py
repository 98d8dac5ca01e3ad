"""Fixtures for the alert tests: real SMTP and HTTP receivers, the shipped rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from envmon.alerts.rules import AlertsConfig, parse_config
from tests.alerts.servers import Certificate, SmtpServer, WebhookReceiver, self_signed_certificate

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "test-webhook-secret-5f1c"
SECRET_ENV = "ENVMON_TEST_WEBHOOK_SECRET"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made for this test."""
    return self_signed_certificate(tmp_path / "tls")


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET_ENV, WEBHOOK_SECRET)
    return WEBHOOK_SECRET


def shipped_config_data() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "alerts.yaml").read_text(encoding="utf-8"))


def make_config(*, smtp: SmtpServer | None = None, webhook: WebhookReceiver | None = None,
                smtp_user: str | None = None, expected_sources: list[dict] | None = None,
                data: dict[str, Any] | None = None) -> AlertsConfig:
    """The shipped rules, with the channels pointed at the test receivers."""
    return parse_config(config_data(smtp=smtp, webhook=webhook, smtp_user=smtp_user,
                                    expected_sources=expected_sources, data=data),
                        source="test alerts.yaml")


def config_data(*, smtp: SmtpServer | None = None, webhook: WebhookReceiver | None = None,
                smtp_user: str | None = None, expected_sources: list[dict] | None = None,
                data: dict[str, Any] | None = None) -> dict[str, Any]:
    """make_config's settings as the YAML mapping, for a test that writes the file."""
    data = data or shipped_config_data()
    email = data["channels"]["duty-email"]
    email.update(enabled=smtp is not None, host="127.0.0.1", username=smtp_user,
                 password_env="ENVMON_TEST_SMTP_PASSWORD", airflow_conn_id=None,
                 to=["duty@example.test", "deputy@example.test"])
    # The server's own TLS mode, with its certificate as the only trusted CA.
    email["security"] = smtp.tls if smtp is not None and smtp.tls else "none"
    if smtp is not None:
        email["port"] = smtp.port
        if smtp.tls:
            email["ca_file"] = str(smtp.cert.cert_file)
    hook = data["channels"]["bureau-webhook"]
    hook.update(enabled=webhook is not None, secret_env=SECRET_ENV)
    if webhook is not None:
        hook["url"] = webhook.url
    if expected_sources is not None:
        data["rules"]["source_stale"]["params"]["expected"] = expected_sources
    return data
