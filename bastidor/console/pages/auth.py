"""Sign-in and sign-out pages; every attempt is recorded in the console audit log (never the password)."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bastidor.console.context import get_context
from bastidor.console.csrf import posted_form
from bastidor.console.render import flash, render
from bastidor.console.security import current_user, safe_next, sign_in, sign_out
from bastidor.console.users import MAX_NAME_LENGTH

BAD_CREDENTIALS = "The user name or password is not right. Check both and try again."


def login(request: Request) -> Response:
    """GET shows the sign-in form; POST signs in, or shows the form again with a generic message."""
    next_url = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if current_user(request) is not None:
            return RedirectResponse(next_url, status_code=303)
        return render(request, "login.html", {"next_url": next_url})
    form = posted_form(request)
    name, password = _typed_name(form.get("username")), str(form.get("password", ""))
    next_url = safe_next(str(form.get("next", next_url)))
    return attempt_sign_in(request, name, password, next_url)


def attempt_sign_in(request: Request, name: str, password: str, next_url: str) -> Response:
    """Check the password (unless the name is locked out), record the outcome, and answer."""
    context, throttle = get_context(request), request.app.state.login_throttle
    wait_s = throttle.locked_for(name)
    if wait_s > 0:
        context.audit.record(name, "console.login_failed", reason="locked", client=_client(request))
        message = f"Too many failed sign-ins for this name. Wait {math.ceil(wait_s)} seconds and try again."
        return render(request, "login.html", {"next_url": next_url, "error": message, "username": name}, 429)
    user = context.users.authenticate(name, password) if name and password else None
    if user is None:
        throttle.failed(name)
        context.audit.record(name, "console.login_failed", reason="bad credentials", client=_client(request))
        return render(request, "login.html", {"next_url": next_url, "error": BAD_CREDENTIALS, "username": name},
                      401)
    throttle.succeeded(name)
    context.audit.record(user.name, "console.login", role=user.role, client=_client(request))
    sign_in(request, user)
    return RedirectResponse(next_url, status_code=303)


def logout(request: Request) -> Response:
    """End the session (POST, with the CSRF token) and go back to the sign-in page."""
    user = current_user(request)
    if user is not None:
        get_context(request).audit.record(user.name, "console.logout", client=_client(request))
    sign_out(request)
    flash(request, "You are signed out.", "info")
    return RedirectResponse("/login", status_code=303)


def _typed_name(value: object) -> str:
    """The user name as typed, cut just past the longest valid name: no real user is missed, and a huge
    value never reaches the lockout table or the audit log."""
    return str(value or "").strip()[:MAX_NAME_LENGTH + 1]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


routes = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
]
