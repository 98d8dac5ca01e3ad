"""JSON webhooks, signed with HMAC-SHA256.

The request body is the notice as canonical JSON (the outbox row's payload,
byte for byte the same on every attempt). Headers:

    X-Envmon-Timestamp: 1793433600            Unix seconds when this attempt was sent
    X-Envmon-Signature: v1=<hex>              HMAC-SHA256(secret, timestamp + "." + body)
    Idempotency-Key:    <notice id>           the same on every attempt of a notice
    X-Envmon-Notice-Id: <notice id>
    X-Envmon-Attempt:   1, 2, ...

The timestamp is inside the signed bytes, so a captured request cannot be
replayed later with a fresh timestamp; a receiver rejects timestamps older
than its tolerance (verify_signature below: 5 minutes) and drops notice ids
it has already processed. The secret comes from the environment variable
named by the channel's `secret_env`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from envmon.alerts.channels import DeliveryError

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                      hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *,
                     tolerance_s: float = DEFAULT_TOLERANCE_S, now: float | None = None) -> bool:
    """What a receiver does: recompute the signature, compare in constant time, check age."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


class WebhookSender:
    def __init__(self, channel: Any, *, timeout: float) -> None:
        self.channel = channel
        self.timeout = timeout
        self._session = None

    def send(self, item: dict[str, Any], *, attempt: int) -> str:
        import requests

        secret = self.channel.secret("secret_env")
        if not secret:
            raise DeliveryError(f"environment variable {self.channel.get('secret_env')} "
                                "(webhook secret) is not set", channel_down=True)
        if self._session is None:
            self._session = requests.Session()
        body = item["payload"].encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {**(self.channel.get("headers") or {}),
                   "Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "envmon-alerts/1",
                   "X-Envmon-Timestamp": timestamp,
                   "X-Envmon-Signature": sign(secret, timestamp, body),
                   "Idempotency-Key": item["notice_id"],
                   "X-Envmon-Notice-Id": item["notice_id"],
                   "X-Envmon-Attempt": str(attempt)}
        url = self.channel.get("url")
        try:
            response = self._session.post(url, data=body, headers=headers,
                                          timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            # Connection refused, DNS, timeout: the receiver is down.
            raise DeliveryError(f"POST {url}: {type(exc).__name__}: {exc}",
                                channel_down=True) from exc
        if 200 <= response.status_code < 300:
            return f"HTTP {response.status_code}"
        text = response.text[:200]
        raise DeliveryError(f"POST {url}: HTTP {response.status_code} {text}",
                            channel_down=response.status_code >= 500
                            or response.status_code in (408, 429))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
