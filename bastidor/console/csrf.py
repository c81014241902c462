"""CSRF protection: every POST must carry the session's token, as form field ``csrf_token`` or header
``X-CSRF-Token``; anything else is refused with a 403 page before any handler runs.

Pages put ``{{ csrf_field() }}`` (from macros.html) in every form; scripts send the header with the
value of ``<meta name="csrf-token">`` from base.html. The middleware parses a posted form once and keeps
it, so plain sync handlers read it with ``posted_form(request)`` (no ``await`` needed).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_CSRF_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
FORM_SCOPE_KEY = "bastidor.console.form"
MAX_BODY_BYTES = 1024 * 1024
TOO_LARGE = "The form is larger than 1 MB, so it was refused. Shorten the note and send it again."
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED_DETAIL = ("This form has expired or did not come from this console, so nothing was changed. "
                  "Go back, reload the page and try again.")


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(SESSION_CSRF_KEY)
    return token if isinstance(token, str) and token else new_csrf_token(request)


def new_csrf_token(request: Request) -> str:
    """Give the session a new CSRF token and return it."""
    token = secrets.token_urlsafe(32)
    request.session[SESSION_CSRF_KEY] = token
    return token


class CsrfMiddleware:
    """Refuses (403) unsafe requests whose token does not match the session's; runs inside the sessions."""

    def __init__(self, app: ASGIApp, refuse: Any) -> None:
        self.app = app
        self.refuse = refuse
        """``refuse(request) -> Response``: the 403 page shown for a refused request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token of every unsafe request, then pass the request on with its body intact."""
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            await PlainTextResponse(TOO_LARGE, status_code=413)(scope, receive, send)
            return
        request = Request(scope, replaying_receive(body, receive))
        if not await _token_matches(request):
            await self.refuse(request)(scope, replaying_receive(body, receive), send)
            return
        await self.app(scope, replaying_receive(body, receive), send)


def posted_form(request: Request) -> FormData:
    """The form posted with this request (empty for a request without a form), for sync handlers."""
    return request.scope.get(FORM_SCOPE_KEY) or FormData()


async def _token_matches(request: Request) -> bool:
    form = await _parse_form(request)
    request.scope[FORM_SCOPE_KEY] = form
    expected = request.session.get(SESSION_CSRF_KEY)
    if not isinstance(expected, str) or not expected:
        return False
    given = request.headers.get(HEADER) or form.get(FORM_FIELD)
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


async def _parse_form(request: Request) -> FormData:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return FormData()
    try:
        return await request.form()
    except Exception:  # a malformed body: treated as a form without a token
        return FormData()


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when it is larger than `MAX_BODY_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying_receive(body: bytes, original: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever the client sends next (a disconnect). Used
    by the CSRF check and the API guard, which read the body before the handler does."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
