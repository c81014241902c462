"""The API's Starlette app, and `ApiDispatch`: the console's outermost middleware but one, which hands every
call under ``/api/`` to it, so the console's sessions and CSRF checks never see the API (no cookies there).

    api = create_api_app(context)                       # the console's context: same stores, users, audit
    Middleware(ApiDispatch, api=api)                    # in the console app's middleware list

``app.state`` of the API app holds the context (``console``), the token store (``api_tokens``) and the rate
limiter (``api_rate_limiter``; tests put a smaller one there).
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bastidor.console.api.errors import error_response
from bastidor.console.api.guard import ApiGuard
from bastidor.console.api.ratelimit import RateLimiter
from bastidor.console.api.routes import starlette_routes
from bastidor.console.context import ConsoleContext
from bastidor.console.tokens import TokenStore

API_ROOT = "/api"
logger = logging.getLogger(__name__)


def create_api_app(context: ConsoleContext, limiter: RateLimiter | None = None) -> Starlette:
    """The API app on the console's `context`."""
    app = Starlette(routes=starlette_routes(), middleware=[Middleware(ApiGuard)],
                    exception_handlers={HTTPException: _http_error, Exception: _server_error})
    app.state.console = context
    app.state.api_tokens = TokenStore(context.db)
    app.state.api_rate_limiter = limiter or RateLimiter()
    return app


class ApiDispatch:
    """Console middleware: calls under ``/api/`` go to the API app, everything else to the console."""

    def __init__(self, app: ASGIApp, api: ASGIApp) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route the call to the API app or the console."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == API_ROOT or path.startswith(API_ROOT + "/"):
            await self.api(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(404, "not_found", f"there is nothing at {request.url.path[:200]}: the routes are "
                              "in GET /api/v1/openapi.json")
    if exc.status_code == 405:
        return error_response(405, "method_not_allowed", f"{request.method} is not accepted here: see GET "
                              "/api/v1/openapi.json", headers=exc.headers)
    return error_response(exc.status_code, "refused", str(exc.detail))


def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("API error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the console hit an unexpected problem: try again, and report it "
                          "(with the time) if it repeats")
