"""Who is signed in, and whether their role may do what they ask: checked on the server in every handler.

    def resolve(request):
        user = require(request, "operator")   # redirects to /login, or a 403 page when the role is too low
        ...

`require` raises `SignInRequired` or `RoleTooLow`; the app turns them into a redirect to the sign-in
page and a 403 page. The role is read from the user store on every request, so a role change or a
removed user takes effect at once.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request

from bastidor.console.context import get_context
from bastidor.console.roles import ROLES, role_at_least
from bastidor.console.sessions import SessionRegistry
from bastidor.console.users import User

__all__ = ["ROLES", "RoleTooLow", "SignInRequired", "current_user", "require", "safe_next", "sign_in",
           "sign_out"]

SESSION_USER_KEY = "user"
SESSION_ID_KEY = "sid"
_UNSET = object()


class SignInRequired(Exception):
    """Nobody is signed in; the visitor is sent to the sign-in page, then back to `next_url`."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in to see this page")
        self.next_url = next_url

    @property
    def login_url(self) -> str:
        """The sign-in page, with where to go afterwards."""
        return f"/login?next={quote(self.next_url, safe='')}"


class RoleTooLow(Exception):
    """The signed-in user's role does not allow this page or action."""

    def __init__(self, user: User, needed: str) -> None:
        super().__init__(f"this needs the {needed} role; {user.name} is a {user.role}")
        self.user = user
        self.needed = needed


def current_user(request: Request) -> User | None:
    """The signed-in user (looked up once per request), or None."""
    cached = getattr(request.state, "console_user", _UNSET)
    if cached is not _UNSET:
        return cached
    name, session_id = request.session.get(SESSION_USER_KEY), request.session.get(SESSION_ID_KEY)
    user = None
    if isinstance(name, str) and isinstance(session_id, str) and _registry(request).is_active(session_id, name):
        user = get_context(request).users.get(name)
    if name is not None and user is None:
        request.session.clear()
    request.state.console_user = user
    return user


def require(request: Request, role: str = "viewer") -> User:
    """The signed-in user when their role is at least `role`; else raise `SignInRequired` or `RoleTooLow`."""
    user = current_user(request)
    if user is None:
        raise SignInRequired(_here(request))
    if not role_at_least(user.role, role):
        raise RoleTooLow(user, role)
    return user


def sign_in(request: Request, user: User) -> None:
    """Start a fresh session for `user` (a new session and CSRF token: no session fixation)."""
    from bastidor.console.csrf import new_csrf_token

    request.session.clear()
    request.session[SESSION_USER_KEY] = user.name
    request.session[SESSION_ID_KEY] = _registry(request).start(user.name)
    new_csrf_token(request)
    request.state.console_user = user


def sign_out(request: Request) -> None:
    """End the session, here and on the server (a kept copy of the cookie no longer works)."""
    session_id = request.session.get(SESSION_ID_KEY)
    if isinstance(session_id, str):
        _registry(request).end(session_id)
    request.session.clear()
    request.state.console_user = None


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else "/" (no open redirects).

    Backslashes and control characters are refused too: browsers read a backslash as a slash and drop tabs
    and line breaks from an address, so "/" + tab + "/evil.example" would lead to "//evil.example"."""
    if (target and target.startswith("/") and not target.startswith("//")
            and not any(char == "\\" or ord(char) < 32 or ord(char) == 127 for char in target)):
        return target
    return "/"


def _registry(request: Request) -> SessionRegistry:
    return request.app.state.session_registry


def _here(request: Request) -> str:
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
