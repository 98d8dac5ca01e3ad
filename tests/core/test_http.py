"""envmon.core.http against a real local HTTP server."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from envmon.core import http
from envmon.core.errors import SourceError
from tests.support.http_server import FixtureServer, Scripted

KEY = "sekrit-openaq-key-0123456789"


class Sleeps:
    """Records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_returns_the_2xx_response(fixture_server: FixtureServer) -> None:
    fixture_server.add("/ok", Scripted.json({"hello": "world"}))
    response = http.get(fixture_server.url("/ok"), params={"a": "1"})
    assert response.status_code == 200
    assert response.json() == {"hello": "world"}
    assert fixture_server.requests[0].query == {"a": ["1"]}


def test_429_waits_retry_after_for_real(fixture_server: FixtureServer) -> None:
    fixture_server.add("/limited", Scripted.json({"ok": True}))
    fixture_server.fail_first("/limited", 1, headers={"Retry-After": "1"})
    began = time.monotonic()
    response = http.get(fixture_server.url("/limited"))
    elapsed = time.monotonic() - began
    assert response.json() == {"ok": True}
    assert len(fixture_server.requests) == 2
    assert 0.9 <= elapsed < 5


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"x-ratelimit-reset": "12"}, 12.0),
        ({"Retry-After": "3600"}, 30.0),  # capped at max_wait
        ({}, 1.0),  # no advice: backoff base
    ],
)
def test_429_wait_follows_the_server(fixture_server: FixtureServer, headers: dict,
                                     expected: float) -> None:
    fixture_server.add("/limited", Scripted.json({"ok": True}))
    fixture_server.fail_first("/limited", 1, headers=headers)
    sleeps = Sleeps()
    http.get(fixture_server.url("/limited"), sleep=sleeps, max_wait=30)
    assert sleeps.calls == [expected]


def test_429_retry_after_as_http_date(fixture_server: FixtureServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    fixture_server.add("/limited", Scripted.json({"ok": True}))
    fixture_server.fail_first("/limited", 1, headers={"Retry-After": when})
    sleeps = Sleeps()
    http.get(fixture_server.url("/limited"), sleep=sleeps)
    assert len(sleeps.calls) == 1
    assert 17 < sleeps.calls[0] <= 20


def test_5xx_backs_off_exponentially_then_succeeds(fixture_server: FixtureServer) -> None:
    fixture_server.add("/flaky", Scripted.json({"ok": True}))
    fixture_server.fail_first("/flaky", 3, status=503)
    sleeps = Sleeps()
    response = http.get(fixture_server.url("/flaky"), sleep=sleeps, backoff=0.5)
    assert response.status_code == 200
    assert sleeps.calls == [0.5, 1.0, 2.0]


def test_500_exhausted_raises_source_error(fixture_server: FixtureServer) -> None:
    fixture_server.add("/broken", Scripted(500, {}, b"internal error"))
    sleeps = Sleeps()
    with pytest.raises(SourceError) as caught:
        http.get(fixture_server.url("/broken"), max_retries=3, sleep=sleeps)
    message = str(caught.value)
    assert "HTTP 500" in message
    assert "4 attempts" in message
    assert "/broken" in message
    assert "\n" not in message
    assert len(fixture_server.requests) == 4
    assert sleeps.calls == [1.0, 2.0, 4.0]


def test_429_exhausted_raises_source_error(fixture_server: FixtureServer) -> None:
    fixture_server.add("/limited", Scripted(429, {"Retry-After": "2"}, b""))
    sleeps = Sleeps()
    with pytest.raises(SourceError, match="HTTP 429"):
        http.get(fixture_server.url("/limited"), max_retries=2, sleep=sleeps)
    assert sleeps.calls == [2.0, 2.0]


def test_4xx_fails_at_once(fixture_server: FixtureServer) -> None:
    fixture_server.add("/missing", Scripted(404, {}, b"no such sensor"))
    sleeps = Sleeps()
    with pytest.raises(SourceError, match="HTTP 404"):
        http.get(fixture_server.url("/missing"), sleep=sleeps)
    assert len(fixture_server.requests) == 1
    assert sleeps.calls == []


def test_connection_refused_is_retried_then_source_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    with pytest.raises(SourceError, match="ConnectionError"):
        http.get(f"http://127.0.0.1:{port}/x", max_retries=2, sleep=sleeps, timeout=2)
    assert sleeps.calls == [1.0, 2.0]


def test_header_key_never_reaches_messages_or_any_log(
        fixture_server: FixtureServer, caplog: pytest.LogCaptureFixture) -> None:
    # The server echoes the key back, as some APIs do in their error bodies.
    fixture_server.add("/echo", Scripted(500, {}, f"invalid key {KEY}".encode()))
    caplog.set_level(logging.DEBUG)  # urllib3's request lines included
    with pytest.raises(SourceError) as caught:
        http.get(fixture_server.url("/echo"), params={"page": "1"},
                 headers={"X-API-Key": KEY}, max_retries=1, sleep=Sleeps())
    assert fixture_server.requests[0].headers["x-api-key"] == KEY  # it was sent
    assert KEY not in str(caught.value)
    assert "invalid key ***" in str(caught.value)
    assert any(r.name == "envmon.core.http" for r in caplog.records), "retry not logged"
    assert KEY not in caplog.text


def test_query_key_is_masked_in_messages_and_our_logs(
        fixture_server: FixtureServer, caplog: pytest.LogCaptureFixture) -> None:
    # urllib3 logs request lines (query included) at DEBUG, which is why
    # credentials belong in headers; our own messages mask them regardless.
    fixture_server.add("/echo", Scripted(500, {}, f"invalid key {KEY}".encode()))
    caplog.set_level(logging.WARNING, logger="envmon.core.http")
    with pytest.raises(SourceError) as caught:
        http.get(fixture_server.url("/echo"), params={"api_key": KEY, "page": "1"},
                 max_retries=1, sleep=Sleeps())
    assert fixture_server.requests[0].query["api_key"] == [KEY]
    assert KEY not in str(caught.value)
    assert "api_key=***&page=1" in str(caught.value)
    ours = [r.getMessage() for r in caplog.records if r.name == "envmon.core.http"]
    assert ours and all(KEY not in m for m in ours)


def test_redact_url_masks_secret_parameters_and_user_info() -> None:
    shown = http.redact_url("https://user:pw@api.example.org/v3/x?token=abc&page=2",
                            {"limit": 10, "api_key": "k"})
    assert shown == "https://api.example.org/v3/x?token=***&page=2&limit=10&api_key=***"
