"""Delivery channels. Each opens a sender that delivers one notice at a time.

A sender raises DeliveryError when a notice was not accepted; `channel_down`
says whether the channel as a whole is unreachable, so the outbox stops
trying that channel's other notices until the next run.
"""

from __future__ import annotations

from typing import Any, Protocol


class DeliveryError(Exception):
    def __init__(self, message: str, *, channel_down: bool = False) -> None:
        # One line: SMTP and HTTP errors may carry multi-line server text.
        super().__init__(" ".join(str(message).split()))
        self.channel_down = channel_down


class Sender(Protocol):
    def send(self, item: dict[str, Any], *, attempt: int) -> str:
        """Deliver one outbox row (its `payload` is the notice JSON); return the server's answer."""
        ...

    def close(self) -> None: ...


def open_sender(channel: Any, config: Any) -> Sender:  # rules.Channel, rules.AlertsConfig
    """A sender for a configured channel (email or webhook); connects on first send."""
    if channel.type == "email":
        from envmon.alerts.channels.email import EmailSender

        return EmailSender(channel, timeout=config.delivery.timeout_s,
                           message_id_domain=config.message_id_domain)
    if channel.type == "webhook":
        from envmon.alerts.channels.webhook import WebhookSender

        return WebhookSender(channel, timeout=config.delivery.timeout_s)
    raise DeliveryError(f"channel {channel.name!r}: unknown type {channel.type!r}")
