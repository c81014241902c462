"""Build the console's Starlette app: page routes discovered from `bastidor.console.pages`, sessions,
CSRF, security headers, and the sign-in / 403 / 404 / 500 pages (503 when the audit log cannot be written).
Calls under /api/ go to the REST API (`bastidor.console.api`) before the sessions and CSRF checks.

Each module in `bastidor.console.pages` exposes ``routes: list[Route]``; a new page is one module
there (plus its data module and template), with no change to this file.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from bastidor.audit import AuditWriteError
from bastidor.console import pages
from bastidor.console.api.app import ApiDispatch, create_api_app
from bastidor.console.context import ConsoleContext
from bastidor.console.csrf import REFUSED_DETAIL, CsrfMiddleware
from bastidor.console.headers import SecurityHeadersMiddleware
from bastidor.console.render import STATIC_DIR, render
from bastidor.console.security import RoleTooLow, SignInRequired
from bastidor.console.sessions import SessionRegistry
from bastidor.console.throttle import LoginThrottle
from bastidor.queue import QueueError
from bastidor.store import StoreError

NOT_RECORDED = ("The console could not write its audit log (audit/console.jsonl in its home folder), and "
                "nothing is done without a record, so nothing was changed. Ask whoever runs the console to check "
                "that folder (free disk space, permissions, `runner.py audit verify`), then try again.")
SESSION_COOKIE = "bastidor_console"
SESSION_SECONDS = 8 * 60 * 60
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsoleSettings:
    """How the app keeps sessions: the signing key, and whether the cookie is sent over HTTPS only."""

    secret_key: str
    https_only: bool = False
    session_seconds: int = SESSION_SECONDS


def page_routes() -> list[BaseRoute]:
    """The routes of every module in `bastidor.console.pages`, in module name order."""
    routes: list[BaseRoute] = []
    for module_info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{pages.__name__}.{module_info.name}")
        routes.extend(getattr(module, "routes", []))
    return routes


def error_page(request: Request, status_code: int, title: str, detail: str) -> Response:
    """The console's error page with a title and what to do."""
    return render(request, "error.html", {"title": title, "detail": detail}, status_code=status_code)


def refused_by_csrf(request: Request) -> Response:
    """The 403 page for a form without a valid CSRF token."""
    return error_page(request, 403, "Request refused", REFUSED_DETAIL)


def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(exc.login_url, status_code=303)


def _role_too_low(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RoleTooLow)
    detail = (f"This page or action needs the {exc.needed} role, and you are signed in as {exc.user.name} "
              f"({exc.user.role}). Nothing was changed. Ask an admin if you need it.")
    return error_page(request, 403, "Not allowed", detail)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Page not found", 405: "Method not allowed"}
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = "There is nothing at this address. Use the menu above."
    return error_page(request, exc.status_code, titles.get(exc.status_code, "Request refused"), detail)


def _audit_unwritable(request: Request, exc: Exception) -> Response:
    logger.error("console audit log not written on %s %s: %s", request.method, request.url.path, exc)
    return error_page(request, 503, "Not recorded, so not done", NOT_RECORDED)


def _database_unreachable(request: Request, exc: Exception) -> Response:
    """A store that cannot reach its database (PostgreSQL restarting, the network cut): say so, with a 503, so
    the supervisor retries in a moment instead of reporting a bug. The stores' own messages hide passwords."""
    logger.error("console: database unavailable on %s %s: %s", request.method, request.url.path, exc)
    detail = str(exc) if isinstance(exc, (StoreError, QueueError)) else type(exc).__name__
    detail = (f"The console cannot reach its database just now ({detail.splitlines()[0][:400]}). Nothing was "
              "changed. Try again in a moment; the bots keep their work and carry on when it is back.")
    try:
        return error_page(request, 503, "Database unavailable", detail)
    except Exception:  # the page itself needs the database (the signed-in user): plain text, then
        return PlainTextResponse(f"Database unavailable. {detail}", status_code=503)


def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("console error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, 500, "Something went wrong", "The console hit an unexpected problem. Try again, "
                      "and report it (with the time) if it repeats.")


def create_app(context: ConsoleContext, settings: ConsoleSettings) -> Starlette:
    """The console app for `context`; the context lives on ``app.state.console``."""
    api = create_api_app(context)
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(ApiDispatch, api=api),  # the REST API under /api/: tokens, not sessions or CSRF
        Middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
                   max_age=settings.session_seconds, same_site="strict", https_only=settings.https_only),
        Middleware(CsrfMiddleware, refuse=refused_by_csrf),
    ]
    routes = [*page_routes(), Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static")]
    handlers = {SignInRequired: _sign_in_required, RoleTooLow: _role_too_low, HTTPException: _http_error,
                AuditWriteError: _audit_unwritable, StoreError: _database_unreachable,
                QueueError: _database_unreachable, SQLAlchemyError: _database_unreachable, 500: _server_error}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.state.console = context
    app.state.api = api
    app.state.login_throttle = LoginThrottle()
    app.state.session_registry = SessionRegistry(context.db, settings.session_seconds)
    return app
