"""Real receivers on 127.0.0.1 for the alert channels: an SMTP server and a webhook endpoint."""

from __future__ import annotations

import email
import email.policy
import ipaddress
import json
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Certificate:
    """A PEM certificate and its key, as a server loads them and a client trusts them."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> Certificate:
    """A new key and a self-signed certificate for `host` (an IP address), valid for a day.

    It is its own CA, so a client that trusts this file (ca_file) verifies
    the server fully, host name included, and any other client refuses it.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"envmon test {host}")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"cert-{cert.serial_number:x}"
    cert_file, key_file = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Certificate(cert_file, key_file)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        # (user, whether the connection was encrypted when it logged in)
        self.logins: list[tuple[str, bool]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer(Controller):
    """aiosmtpd on an ephemeral port of 127.0.0.1.

    `tls`: None (plain SMTP), "starttls" (STARTTLS required before anything
    else) or "ssl" (TLS from the first byte), with `cert`. `credentials`
    turns on AUTH, over TLS only: envmon never sends a password in clear.
    """

    def __init__(self, credentials: tuple[str, str] | None = None, port: int = 0,
                 tls: str | None = None, cert: Certificate | None = None) -> None:
        if tls and cert is None:
            raise ValueError("a TLS test server needs a certificate")
        if credentials and not tls:
            raise ValueError("the test server takes credentials over TLS only")
        self.inbox = _Inbox()
        self.tls, self.cert = tls, cert
        kwargs: dict = {}
        if tls == "starttls":
            kwargs = {"tls_context": cert.server_context(), "require_starttls": True}
        elif tls == "ssl":
            kwargs = {"ssl_context": cert.server_context()}
        if credentials:
            kwargs["authenticator"] = self._authenticator(*credentials)
            # aiosmtpd counts only STARTTLS as TLS for AUTH; with implicit TLS
            # the socket is encrypted from the start, which the authenticator
            # records (inbox.logins) so the tests can check it.
            kwargs["auth_require_tls"] = tls == "starttls"
            kwargs["auth_required"] = tls == "starttls"
        super().__init__(self.inbox, hostname="127.0.0.1", port=port, **kwargs)

    def _authenticator(self, user: str, password: str):
        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            if ok:
                encrypted = server.transport.get_extra_info("ssl_object") is not None
                self.inbox.logins.append((user, encrypted))
            return AuthResult(success=ok)

        return authenticate

    def _trigger_server(self) -> None:
        # Bound to port 0: learn the real port before aiosmtpd connects to it.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Records POSTs; answers from `statuses` in turn (then 200). stop()/start() on one port.

    `hold_from = n` keeps request n+1 onwards waiting (recorded, not answered)
    until release(): a sender stuck mid-channel, to be killed by a test.
    """

    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    hold_from: int | None = None

    def __post_init__(self) -> None:
        self._httpd: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.start()

    def release(self) -> None:
        self._released.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/envmon"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                        status))
                    held = (receiver.hold_from is not None
                            and len(receiver.requests) > receiver.hold_from)
                if held:
                    receiver._released.wait(60)
                answer = b'{"ok": true}' if status < 300 else b'{"error": "scripted"}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender of a held request was killed meanwhile

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        """Close the socket: connections are refused until start()."""
        self.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def accepted(self) -> list[Received]:
        """Requests answered 2xx, in order (the statuses were popped in order)."""
        return [r for r in self.requests if r.status < 300]
