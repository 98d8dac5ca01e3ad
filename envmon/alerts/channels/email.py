"""Email over SMTP: one message per notice, Message-ID derived from the notice id.

Connection settings come from the channel (host, port, security, username,
from, to, ca_file); the password from the environment variable named by
`password_env`, or from the Airflow connection named by `airflow_conn_id`
(host, port, login and password; the channel's own settings win). Airflow
resolves connections from its secrets backends, including AIRFLOW_CONN_<ID>
variables, so the CLI and the scheduler find the same one.

TLS (`security: starttls` or `ssl`) always verifies the server's certificate
and host name, against the system's CAs or the PEM bundle `ca_file` (a
private CA, or a self-signed server). A login over `security: none` is
refused before connecting: it would send the password in clear.

The Message-ID is the same on every attempt of a notice, so a mail client
or archive that sees a copy (sent again after a crash) can drop it.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from envmon.alerts.channels import DeliveryError

KIND_LABELS = {"raised": "RAISED", "resolved": "RESOLVED", "reopened": "REOPENED",
               "notified": "NOTICE"}
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class EmailSender:
    def __init__(self, channel: Any, *, timeout: float, message_id_domain: str) -> None:
        self.channel = channel
        self.timeout = timeout
        self.domain = message_id_domain
        self._smtp: smtplib.SMTP | None = None

    # ------------------------------------------------------------ connection

    def _settings(self) -> tuple[str, int, str | None, str | None]:
        security = self.channel.get("security", "starttls")
        host = self.channel.get("host")
        port = self.channel.get("port")
        user = self.channel.get("username")
        password = self.channel.secret("password_env")
        conn_id = self.channel.get("airflow_conn_id")
        if conn_id:
            conn = _airflow_connection(conn_id)
            host, port = host or conn.host, port or conn.port
            user, password = user or conn.login, password or conn.password
        if not host:
            raise DeliveryError(f"channel {self.channel.name}: no SMTP host", channel_down=True)
        if user and security == "none":
            # The login can come from the Airflow connection, which the
            # configuration check cannot see.
            raise DeliveryError(f"channel {self.channel.name}: security: none with login "
                                f"{user!r} would send the SMTP password in clear; set "
                                "security: starttls or ssl", channel_down=True)
        if user and not password:
            raise DeliveryError(f"channel {self.channel.name}: SMTP user {user!r} but no "
                                f"password (environment variable "
                                f"{self.channel.get('password_env')} not set)", channel_down=True)
        return host, int(port or DEFAULT_PORTS[security]), user, password

    def _tls_context(self) -> ssl.SSLContext:
        """Verifies the certificate chain and the host name (the default context does both)."""
        ca_file = self.channel.get("ca_file")
        try:
            return ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"channel {self.channel.name}: ca_file {ca_file}: {exc}",
                                channel_down=True) from exc

    def _connect(self) -> smtplib.SMTP:
        host, port, user, password = self._settings()
        security = self.channel.get("security", "starttls")
        context = None if security == "none" else self._tls_context()
        try:
            if security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=self.timeout,
                                                      context=context)
            else:
                smtp = smtplib.SMTP(host, port, timeout=self.timeout)
                if security == "starttls":
                    # Raises if the server does not offer STARTTLS: no
                    # fallback to a plain connection.
                    smtp.starttls(context=context)
            if user:
                smtp.login(user, password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {host}:{port}: {type(exc).__name__}: {exc}",
                                channel_down=True) from exc
        return smtp

    # ------------------------------------------------------------------ send

    def send(self, item: dict[str, Any], *, attempt: int) -> str:
        if self._smtp is None:
            self._smtp = self._connect()
        message = render(item, self.channel, self.domain)
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP refused every recipient: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            # 4xx is temporary (try the channel later); 5xx is about this message.
            detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            self._drop()
            raise DeliveryError(f"SMTP {exc.smtp_code} {detail}",
                                channel_down=400 <= exc.smtp_code < 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}", channel_down=True) from exc
        accepted = len(_recipients(self.channel)) - len(refused)
        note = f"; refused {sorted(refused)}" if refused else ""
        return f"accepted for {accepted} recipient(s){note}, Message-ID {message['Message-ID']}"

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            finally:
                self._smtp = None


def message_id(notice_id: str, domain: str) -> str:
    return f"<{notice_id}@{domain}>"


def render(item: dict[str, Any], channel: Any, domain: str) -> EmailMessage:
    """The email for one outbox row: plain text, with the notice JSON attached."""
    notice = json.loads(item["payload"])
    alert = notice["alert"]
    kind = notice["kind"]
    label = KIND_LABELS.get(kind, kind.upper())
    if kind == "raised" and alert.get("status") == "resolved":
        label = "RAISED (already over)"
    where = _where(alert)
    message = EmailMessage()
    message["Subject"] = (f"[envmon] {alert['severity'].upper()} {label}: {alert['title']} - "
                          f"{where}, {alert['period']}")
    message["From"] = channel.get("from")
    message["To"] = ", ".join(_recipients(channel))
    message["Date"] = format_datetime(_parse_iso(notice["created_at"]))
    message["Message-ID"] = message_id(notice["notice_id"], domain)
    message["X-Envmon-Notice-Id"] = notice["notice_id"]
    message["X-Envmon-Alert-Id"] = alert["alert_id"]
    value = "" if alert.get("value") is None else f"{alert['value']:g} {alert.get('unit') or ''}"
    lines = [
        f"envmon alert notice: {label}",
        "",
        f"Rule:      {alert['rule']}: {alert['title']}"
        + (f" / {alert['title_zh']}" if alert.get("title_zh") else ""),
        f"Severity:  {alert['severity']}",
        f"Subject:   {where}",
        f"Period:    {alert['period']}",
        f"Value:     {value.strip() or '-'}",
        f"Detail:    {alert.get('detail') or '-'}",
        f"Status:    {alert['status']}"
        + (f" ({alert['resolve_reason']}, {alert['resolved_at']})"
           if alert.get("resolved_at") else ""),
        f"Raised:    {alert['first_raised_at']}",
        f"Standard:  {alert.get('standard') or '-'}",
        "",
        f"Alert {alert['alert_id']}, notice {notice['notice_id']}.",
        "The same notice is also attached as JSON (notice.json).",
    ]
    message.set_content("\n".join(lines) + "\n")
    message.add_attachment(item["payload"].encode("utf-8"), maintype="application",
                           subtype="json", filename="notice.json")
    return message


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _where(alert: dict[str, Any]) -> str:
    name = alert.get("subject_name")
    return f"{name} ({alert['subject']})" if name else str(alert["subject"])


def _recipients(channel: Any) -> list[str]:
    to = channel.get("to") or []
    return [to] if isinstance(to, str) else list(to)


def _airflow_connection(conn_id: str):  # -> airflow Connection
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # not found, or Airflow not importable here
        raise DeliveryError(f"Airflow connection {conn_id!r}: {exc}", channel_down=True) from exc

