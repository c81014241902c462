"""What every API call goes through before a route sees it, and the audit record it leaves.

1. A token: ``Authorization: Bearer <token>`` naming a token of `runner.py tokens`; else 401 with a
   ``WWW-Authenticate`` challenge, whatever the address (an unknown address answers 404 only to a token).
2. The rate limit of that token (of the client's address for a call without a valid token): else 429 with
   ``Retry-After``.
3. A body of at most 1 MB, read before the route runs: else 413.
4. One ``api.call`` record in the console audit log once the answer is known, before it is sent: user
   ``api:NAME`` and ``caller`` NAME, the token's name (never the token; a field named "token" would be masked
   by the audit log anyway), the method, the path, the route and the status. A call whose record cannot be
   written gets 503 instead of its answer, unless it already changed something (its action was recorded
   before the change, so the change is in the log). Of a streak of calls refused by the rate limit, the first
   is recorded.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastidor.audit import AuditWriteError
from bastidor.console.api.errors import ApiError, error_response, unauthorized
from bastidor.console.csrf import replaying_receive
from bastidor.console.tokens import ApiToken
from bastidor.queue import QueueError
from bastidor.store import StoreError

MAX_BODY_BYTES = 1024 * 1024
TOKEN_STATE_KEY = "api_token"
ACTION_RECORDED_KEY = "api_action_recorded"
"""Set in the request's state by a route once it recorded an action it is about to do."""
MAX_PATH_RECORDED = 300
NOT_RECORDED = ("the console could not write its audit log (audit/console.jsonl in its home folder), and "
                "nothing is answered without a record: ask whoever runs the console to check that folder, then "
                "try again")
logger = logging.getLogger(__name__)


class ApiGuard:
    """ASGI middleware of the API app: token, rate limit, body cap and audit for every call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the call through to the routes only with a valid token, within its rate, with a small body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call = _Call(scope)
        try:
            token = await self._admit(call)
            receive = await _body_within_cap(scope, receive)
        except ApiError as refused:
            await call.answer(refused, send)
            return
        except (SQLAlchemyError, StoreError, QueueError) as error:  # the token store's database
            logger.error("API: tokens cannot be checked: %s", error)
            await call.answer(ApiError(503, "unavailable", "the console cannot reach its database just now, so "
                                       "the token cannot be checked: try again in a moment"), send)
            return
        scope.setdefault("state", {})[TOKEN_STATE_KEY] = token
        await self.app(scope, receive, call.recording(send))

    async def _admit(self, call: _Call) -> ApiToken:
        """The call's token; `ApiError` 401 or 429 when it has none that may call now."""
        presented = bearer_token(call.headers.get("authorization"))
        token = None
        if presented is not None:
            token = await run_in_threadpool(call.state.api_tokens.authenticate, presented)
        bucket = f"token:{token.name}" if token else f"address:{call.client}"
        verdict = call.state.api_rate_limiter.take(bucket)
        if not verdict.allowed:
            call.quiet = not verdict.first_refusal
            call.token = token
            raise ApiError(429, "rate_limited", f"too many calls: wait {verdict.retry_after_s} s (see the "
                           "Retry-After header), then go on at the agreed rate", headers={
                               "Retry-After": str(verdict.retry_after_s)})
        if token is None:
            raise unauthorized("this API needs a token: send the header `Authorization: Bearer <token>` with a "
                               "token made by `runner.py tokens add NAME --role ROLE`" if presented is None else
                               "the token is not valid (mistyped, or revoked): ask for a new one",
                               invalid=presented is not None)
        call.token = token
        return token


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme in any case), else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        return None
    return value


class _Call:
    """One call as the guard sees it: who, from where, what, and its audit record."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.state = scope["app"].state
        self.headers = Headers(scope=scope)
        self.client = scope["client"][0] if scope.get("client") else "unknown"
        self.token: ApiToken | None = None
        self.quiet = False
        self.started = time.monotonic()

    async def answer(self, refused: ApiError, send: Send) -> None:
        """Send a refusal, recorded first (a refusal is sent even when its record cannot be written)."""
        if not self.quiet:
            try:
                await self.record(refused.status)
            except (AuditWriteError, OSError) as error:
                logger.error("API call not recorded in the console audit log: %s", error)
        await refused.response()(self.scope, _no_body, send)

    def recording(self, send: Send) -> Send:
        """`send` that records the call when its answer starts (503 instead when that fails and nothing changed)."""
        replaced = False

        async def send_recorded(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                try:
                    await self.record(message["status"])
                except (AuditWriteError, OSError) as error:
                    logger.error("API call not recorded in the console audit log: %s", error)
                    if not self.scope.get("state", {}).get(ACTION_RECORDED_KEY):
                        replaced = True
                        await error_response(503, "unavailable", NOT_RECORDED)(self.scope, _no_body, send)
                        return
            await send(message)

        return send_recorded

    async def record(self, status: int) -> None:
        """Write the ``api.call`` record of this call."""
        from bastidor.console.api.routes import route_template

        method, path = self.scope["method"], self.scope["path"][:MAX_PATH_RECORDED]
        name = self.token.name if self.token else None
        fields: dict[str, Any] = {"caller": name, "method": method, "path": path,
                                  "route": route_template(method, self.scope["path"]), "status": status,
                                  "client": self.client, "ms": round((time.monotonic() - self.started) * 1000)}
        user = f"api:{name}" if name else "anonymous"
        await run_in_threadpool(self.state.console.audit.record, user, "api.call", **fields)


async def _body_within_cap(scope: Scope, receive: Receive) -> Receive:
    """Read the whole body (refusing more than `MAX_BODY_BYTES` with 413) and return a `receive` replaying it."""
    if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return receive
    declared = Headers(scope=scope).get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return replaying_receive(b"".join(chunks), receive)


def _too_large() -> ApiError:
    return ApiError(413, "too_large", f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB: send at most 1,000 "
                    "items a call, in several calls")


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def record_action(request: Any, token: ApiToken, action: str, **fields: Any) -> None:
    """Record, before doing it, what a call is about to change (``api.run.start``...), with the token's name;
    raises `AuditWriteError` when the record cannot be written, so nothing is done unrecorded."""
    console = request.app.state.console
    console.audit.record(f"api:{token.name}", action, caller=token.name, **fields)
    request.scope.setdefault("state", {})[ACTION_RECORDED_KEY] = True
