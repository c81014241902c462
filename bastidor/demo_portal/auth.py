"""Sign-in, sign-out, and the middleware that sends signed-out visitors to /login."""

from __future__ import annotations

import hmac
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bastidor.demo_portal.rendering import page
from bastidor.demo_portal.settings import PortalSettings

PUBLIC_PREFIXES = ("/static/", "/api/", "/lab/")
PUBLIC_PATHS = frozenset({"/login", "/favicon.ico", "/lab"})
BAD_CREDENTIALS = "Invalid username or password."


def safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else "/" (no open redirects)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


class RequireLoginMiddleware:
    """Redirect every request for a private page to /login?next=... unless the session is signed in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let public paths and signed-in sessions through; redirect the rest."""
        path = scope.get("path", "")
        is_public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        if scope["type"] != "http" or is_public or scope["session"].get("user"):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        await response(scope, receive, send)


def _credentials_match(settings: PortalSettings, username: str, password: str) -> bool:
    user_ok = hmac.compare_digest(username.encode(), settings.username.encode())
    password_ok = hmac.compare_digest(password.encode(), settings.password.encode())
    return user_ok and password_ok


async def login(request: Request) -> Response:
    """GET shows the sign-in form; POST signs in or shows the form again with an alert."""
    next_target = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if request.session.get("user"):
            return RedirectResponse(next_target, status_code=303)
        signed_out = request.query_params.get("signed_out") == "1"
        return page(request, "login.html", next_target=next_target, signed_out=signed_out)
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    next_target = safe_next(str(form.get("next", next_target)))
    settings: PortalSettings = request.app.state.settings
    if not _credentials_match(settings, username, password):
        return page(request, "login.html", status_code=401, next_target=next_target, error=BAD_CREDENTIALS,
                    username=username)
    request.session.clear()
    request.session["user"] = settings.username
    return RedirectResponse(next_target, status_code=303)


async def logout(request: Request) -> Response:
    """Forget the session and go back to the sign-in page."""
    request.session.clear()
    return RedirectResponse("/login?signed_out=1", status_code=303)
