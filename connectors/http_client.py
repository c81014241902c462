"""HTTP requests for the `http_request` step: httpx, retries with tenacity, capped response bodies.

`send_request` sends one request and retries it on connection errors, 5xx and 429 answers, waiting as the
server's `Retry-After` says (seconds or an HTTP date, capped at `MAX_RETRY_AFTER_S`) or else backing off
0.5 s, 1 s, 2 s... A 4xx other than 429 is never retried. A request that may have reached the server (a read
timeout, a dropped connection) is sent again only for idempotent methods (GET, PUT, DELETE); POST and PATCH
are sent again only when the connection could not be made at all, so that an order is never posted twice.

The body is read up to `MAX_TEXT_BYTES` (1 MB); the rest is not read, and the response says it was cut.
Nothing here knows about secrets: the step masks what it records.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

MAX_TEXT_BYTES = 1024 * 1024
"""The most of a response body that is read and kept; a longer body is cut and marked `truncated`."""

MAX_RETRY_AFTER_S = 60.0
"""The longest wait a server's `Retry-After` can ask for; a longer one is cut to this."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504}) | frozenset(range(505, 600))
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class HttpClientError(Exception):
    """The request could not be sent or answered (no connection, a timeout), after any retries."""


@dataclass
class HttpResponse:
    """What came back: status, headers (lower-case names), the body as text (capped), parsed JSON, timing."""

    status: int
    reason: str
    headers: dict[str, str]
    text: str
    json: Any
    truncated: bool
    size: int
    elapsed_ms: float
    attempts: int
    waits_s: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300


class _RetryableStatus(Exception):
    def __init__(self, response: HttpResponse):
        super().__init__(response.status)
        self.response = response


class _RetryableTransport(Exception):
    def __init__(self, error: httpx.TransportError):
        super().__init__(str(error))
        self.error = error


def display_url(url: str) -> str:
    """`url` without any user name or password in it, for messages and records."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def retry_after_seconds(value: str | None, now: Callable[[], dt.datetime] | None = None) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds (0 to `MAX_RETRY_AFTER_S`), or None if unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        current = now() if now is not None else dt.datetime.now(dt.timezone.utc)
        seconds = (when - current).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _backoff(attempt_number: int) -> float:
    return min(0.5 * 2 ** (attempt_number - 1), 10.0)


def send_request(method: str, url: str, *, headers: dict[str, str] | None = None,
                 params: dict[str, str] | None = None, json_body: Any = None, form: dict[str, str] | None = None,
                 auth: tuple[str, str] | None = None, timeout_s: float = 10.0, retries: int = 2,
                 sleep: Callable[[float], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> HttpResponse:
    """Send the request, retrying as described above; the final answer whatever its status.

    Raises HttpClientError when no answer came (after the retries), naming the method and the URL without
    credentials.
    """
    method = method.upper()
    waits: list[float] = []
    content = None
    if json_body is not None:
        content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        headers = {"content-type": "application/json", **(headers or {})}

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        seconds = None
        if isinstance(error, _RetryableStatus):
            seconds = retry_after_seconds(error.response.headers.get("retry-after"))
        if seconds is None:
            seconds = _backoff(state.attempt_number)
        waits.append(seconds)
        return seconds

    def sleeper(seconds: float) -> None:
        (sleep or time.sleep)(seconds)

    retrying = Retrying(stop=stop_after_attempt(retries + 1), wait=wait, sleep=sleeper, reraise=True,
                        retry=retry_if_exception_type((_RetryableStatus, _RetryableTransport)))
    with httpx.Client(timeout=timeout_s, follow_redirects=True, transport=transport) as client:
        try:
            for attempt in retrying:
                with attempt:
                    response = _send_once(client, method, url, headers, params, content, form, auth,
                                          attempt.retry_state.attempt_number)
                    if response.status in RETRY_STATUSES:
                        raise _RetryableStatus(response)
        except _RetryableStatus as final:
            response = final.response
        except _RetryableTransport as final:
            raise _client_error(method, url, final.error, retrying.statistics.get("attempt_number", 1)) from None
    response.waits_s = waits
    return response


def _send_once(client: httpx.Client, method: str, url: str, headers: Any, params: Any, content: Any,
               form: Any, auth: Any, attempt_number: int) -> HttpResponse:
    started = time.perf_counter()
    try:
        with client.stream(method, url, headers=headers, params=params, content=content, data=form,
                           auth=auth) as answer:
            body, truncated = _read_capped(answer)
            reason = answer.reason_phrase
            encoding = answer.encoding or "utf-8"
            answer_headers = {}
            for name, value in answer.headers.multi_items():
                name = name.lower()
                answer_headers[name] = f"{answer_headers[name]}, {value}" if name in answer_headers else value
            status = answer.status_code
    except httpx.UnsupportedProtocol as error:
        raise HttpClientError(f"{method} {display_url(url)}: not an http or https URL ({error})") from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise _RetryableTransport(error) from None
    except httpx.TransportError as error:
        if method in IDEMPOTENT_METHODS:
            raise _RetryableTransport(error) from None
        raise _client_error(method, url, error, attempt_number) from None
    except httpx.InvalidURL as error:
        raise HttpClientError(f"{method} {display_url(url)}: not a valid URL ({error})") from None
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    text = body.decode(encoding, errors="replace")
    return HttpResponse(status=status, reason=reason, headers=answer_headers, text=text,
                        json=_parsed_json(answer_headers, text, truncated), truncated=truncated, size=len(body),
                        elapsed_ms=elapsed_ms, attempts=attempt_number)


def _read_capped(answer: httpx.Response) -> tuple[bytes, bool]:
    chunks, size = [], 0
    for chunk in answer.iter_bytes():
        room = MAX_TEXT_BYTES - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def _parsed_json(headers: dict[str, str], text: str, truncated: bool) -> Any:
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if truncated or not (kind == "application/json" or kind.endswith("+json")) or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _client_error(method: str, url: str, error: httpx.TransportError, attempts: int) -> HttpClientError:
    what = {httpx.ConnectError: "could not connect", httpx.ConnectTimeout: "timed out connecting",
            httpx.ReadTimeout: "timed out waiting for the answer",
            httpx.WriteTimeout: "timed out sending the request",
            httpx.PoolTimeout: "timed out"}.get(type(error), "failed")
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    detail = str(error).strip() or type(error).__name__
    return HttpClientError(f"{method} {display_url(url)} {what}{tries}: {detail}")
