"""A real HTTP server on 127.0.0.1 that answers scripted responses.

Use the `fixture_server` pytest fixture (tests/conftest.py loads this module
as a plugin), or `FixtureServer` as a context manager:

    server.add("/v3/sensors/1/hours", Scripted.from_file(path), query={"page": "1"})
    server.fail_first("/v3/sensors/1/hours", 1, headers={"Retry-After": "1"})
    ... requests.get(server.url("/v3/sensors/1/hours"), params={"page": 1}) ...
    server.requests[0].headers["x-api-key"]

A route matches a request when the path is equal and every query parameter
the route names has that value (other parameters are ignored); the route that
names the most parameters wins. A route answers its responses in order and
keeps answering the last one. Unmatched requests get 404.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass(frozen=True)
class Scripted:
    """One scripted answer."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def from_file(cls, path: Path, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Scripted:
        kind = "application/json" if path.suffix == ".json" else "application/octet-stream"
        return cls(status, {"Content-Type": kind, **(headers or {})}, path.read_bytes())

    @classmethod
    def json(cls, payload: object, status: int = 200,
             headers: Mapping[str, str] | None = None) -> Scripted:
        body = json.dumps(payload).encode()
        return cls(status, {"Content-Type": "application/json", **(headers or {})}, body)


@dataclass(frozen=True)
class Recorded:
    """A request as the server saw it. Header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_path: str


@dataclass
class _Route:
    path: str
    query: dict[str, str]
    responses: list[Scripted]

    def matches(self, path: str, query: dict[str, list[str]]) -> bool:
        return path == self.path and all(query.get(k) == [v] for k, v in self.query.items())

    def next(self) -> Scripted:
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


class FixtureServer:
    """Scripted HTTP server on an ephemeral port of 127.0.0.1, in a background thread."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        # A short poll interval keeps shutdown() (once per test) fast.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, *responses: Scripted,
            query: Mapping[str, str] | None = None) -> None:
        """Answer requests for `path` (and `query`) with `responses` in turn."""
        if not responses:
            raise ValueError("add() needs at least one response")
        with self._lock:
            route = self._route(path, query)
            if route is None:
                self._routes.append(_Route(path, dict(query or {}), list(responses)))
            else:
                route.responses.extend(responses)

    def fail_first(self, path: str, times: int, *, status: int = 429,
                   headers: Mapping[str, str] | None = None, body: bytes = b"",
                   query: Mapping[str, str] | None = None) -> None:
        """Answer the first `times` matching requests with `status` (default 429)
        before the route's scripted responses; add the route first."""
        failing = Scripted(status, dict(headers or {}), body)
        with self._lock:
            route = self._route(path, query)
            if route is None:
                raise ValueError(f"no route {path} {query or {}}: add() it first")
            route.responses[:0] = [failing] * times

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FixtureServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _route(self, path: str, query: Mapping[str, str] | None) -> _Route | None:
        wanted = dict(query or {})
        return next((r for r in self._routes if r.path == path and r.query == wanted), None)

    def _answer(self, request: Recorded) -> Scripted:
        with self._lock:
            self.requests.append(request)
            candidates = [r for r in self._routes if r.matches(request.path, request.query)]
            if not candidates:
                return Scripted.json({"detail": f"no fixture for {request.raw_path}"}, 404)
            best = max(candidates, key=lambda r: len(r.query))
            return best.next()


def _handler_for(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            request = Recorded(
                method="GET",
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                raw_path=self.path,
            )
            answer = server._answer(request)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep pytest output clean

    return Handler


@pytest.fixture(name="fixture_server")
def fixture_server_fixture() -> Iterator[FixtureServer]:
    """A FixtureServer for one test, shut down afterwards.

    Registered as `fixture_server` for every test: tests/conftest.py loads
    this module as a pytest plugin.
    """
    with FixtureServer() as server:
        yield server
