"""A small HTTP GET with retries, shared by every HTTP source.

Retries connection failures, timeouts, 5xx and 429. The wait before a retry
is what the server asked for (`Retry-After`, RFC 9110 section 10.2.3, or the
`x-ratelimit-reset` seconds that rate-limited APIs such as OpenAQ send), capped
at `max_wait`; otherwise exponential backoff. Anything else that is not 2xx
fails at once. Errors are one line naming the URL (secrets masked) and the
status; header values (API keys) are never logged or put in messages.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from envmon.core.errors import SourceError

log = logging.getLogger(__name__)

DEFAULT_MAX_WAIT = 60.0
DEFAULT_BACKOFF = 1.0
MASK = "***"

# Query parameters and headers whose values are credentials.
_SECRET_NAME = re.compile(
    r"(api[-_]?key|apikey|key|token|secret|password|passwd|signature|sig|auth|credential)",
    re.IGNORECASE,
)
# Transport failures worth another attempt; anything else (bad URL, bad
# scheme, too many redirects) will not improve by waiting.
_RETRYABLE_EXC = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
# x-ratelimit-reset above this is an epoch timestamp, not a delay in seconds.
_EPOCH_THRESHOLD = 1_000_000_000

Sleep = Callable[[float], None]


def get(
    url: str,
    *,
    params: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
    max_retries: int = 5,
    session: requests.Session | None = None,
    sleep: Sleep = time.sleep,
    backoff: float = DEFAULT_BACKOFF,
    max_wait: float = DEFAULT_MAX_WAIT,
) -> requests.Response:
    """GET `url`, retrying up to `max_retries` times; return the 2xx response.

    Raises SourceError when retries are exhausted or on a non-retryable status.
    """
    if max_retries < 0:
        raise ValueError("max_retries must be >= 0")
    secrets = _secret_values(url, params, headers)
    shown = redact_url(url, params)
    own_session = session is None
    http = session or requests.Session()
    try:
        for attempt in range(max_retries + 1):
            last = attempt == max_retries
            try:
                response = http.get(url, params=params, headers=headers, timeout=timeout)
            except _RETRYABLE_EXC as exc:
                problem = f"{type(exc).__name__}: {_mask(str(exc), secrets)}"
                if last:
                    raise SourceError(_failure(shown, problem, attempt + 1)) from None
                _pause(sleep, _backoff(attempt, backoff, max_wait), shown, problem)
                continue
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {_mask(str(exc), secrets)}"
                raise SourceError(_failure(shown, problem, attempt + 1)) from None
            status = response.status_code
            if status < 300:
                return response
            problem = _status_text(response, secrets)
            if not _retryable(status):
                raise SourceError(_failure(shown, problem, attempt + 1))
            if last:
                raise SourceError(_failure(shown, problem, attempt + 1))
            delay = _server_delay(response.headers, max_wait)
            _pause(sleep, _backoff(attempt, backoff, max_wait) if delay is None else delay,
                   shown, problem)
    finally:
        if own_session:
            http.close()
    raise AssertionError("unreachable")  # the loop always returns or raises


def redact_url(url: str, params: Mapping[str, object] | None = None) -> str:
    """`url` with `params` appended, user info dropped and secret values masked."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(str(k), str(v)) for k, v in _param_items(params)]
    masked = [(k, MASK if _SECRET_NAME.search(k) else v) for k, v in query]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(masked, safe=":*"), ""))


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _server_delay(headers: Mapping[str, str], max_wait: float) -> float | None:
    """Seconds the server asked us to wait, capped at `max_wait`, or None."""
    for name, parse in (("Retry-After", _retry_after), ("x-ratelimit-reset", _ratelimit_reset)):
        raw = headers.get(name)
        if raw is None:
            continue
        seconds = parse(raw.strip())
        if seconds is not None:
            return min(max(seconds, 0.0), max_wait)
    return None


def _retry_after(value: str) -> float | None:
    # RFC 9110: delay-seconds or an HTTP-date.
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _ratelimit_reset(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds > _EPOCH_THRESHOLD:
        return seconds - time.time()
    return seconds


def _backoff(attempt: int, base: float, max_wait: float) -> float:
    return min(base * (2**attempt), max_wait)


def _pause(sleep: Sleep, seconds: float, shown: str, problem: str) -> None:
    log.warning("GET %s: %s; retrying in %.1f s", shown, problem, seconds)
    sleep(seconds)


def _status_text(response: requests.Response, secrets: Iterable[str]) -> str:
    text = f"HTTP {response.status_code}"
    if response.reason:
        text += f" {response.reason}"
    snippet = " ".join((response.text or "")[:200].split())
    if snippet:
        text += f" ({_mask(snippet, secrets)})"
    return text


def _failure(shown: str, problem: str, attempts: int) -> str:
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return f"GET {shown} failed: {problem} after {tries}"


def _param_items(params: Mapping[str, object] | None) -> list[tuple[object, object]]:
    if not params:
        return []
    items: list[tuple[object, object]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            items.extend((key, v) for v in value)
        else:
            items.append((key, value))
    return items


def _secret_values(url: str, params: Mapping[str, object] | None,
                   headers: Mapping[str, str] | None) -> list[str]:
    """Values that must never appear in a message: credentials in headers or query."""
    found: list[str] = []
    for name, value in (headers or {}).items():
        if _SECRET_NAME.search(name) or name.lower() in {"authorization", "cookie"}:
            found.append(str(value))
    query = parse_qsl(urlsplit(url).query) + [(str(k), str(v)) for k, v in _param_items(params)]
    found += [v for k, v in query if _SECRET_NAME.search(k)]
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    if userinfo:
        found += [p for p in userinfo.split(":") if p]
    # Longest first so a secret containing another is masked whole.
    return sorted({v for v in found if len(v) >= 4}, key=len, reverse=True)


def _mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
