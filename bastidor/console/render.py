"""Render a console page: the Jinja2 templates, the navigation bar, flash messages and display filters.

    return render(request, "runs.html", {"page": result})

adds ``user`` (the signed-in `User` or None), ``csrf_token``, ``nav`` (a list of `NavLink`),
``flashes`` and ``can`` (``{% if can("operator") %}`` shows a control only to operators and admins;
the handler still checks with `require`) to the context. Templates extend ``base.html`` (blocks
``title`` and ``content``) and import macros from ``macros.html`` WITH context. Filters: ``when`` (a
datetime as "2026-11-27 12:37:15 UTC"), ``duration`` (milliseconds as "1.2 s"), ``pretty`` (a value as
indented JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bastidor.audit import to_jsonable
from bastidor.console.csrf import csrf_token
from bastidor.console.data.exports import MEDIA_TYPES, download_name
from bastidor.console.data.formats import duration
from bastidor.console.roles import role_at_least
from bastidor.console.security import current_user

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
FLASH_KEY = "flashes"

NAV_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("Runs", "/runs", "viewer"),
    ("Items", "/items", "viewer"),
    ("Exceptions", "/exceptions", "viewer"),
    ("Flows", "/flows", "viewer"),
    ("Schedules", "/schedules", "viewer"),
    ("Bots", "/bots", "viewer"),
    ("KPIs", "/kpis", "viewer"),
    ("Users", "/users", "admin"),
)
"""(label, path, least role that sees the link) of the navigation bar, in order."""


@dataclass(frozen=True)
class NavLink:
    """One link of the navigation bar; `current` when the page shown is in its section."""

    label: str
    href: str
    current: bool


def when(value: datetime | None) -> str:
    """A datetime shown in UTC to the second, or an empty string."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty(value: Any) -> str:
    """A value as readable, indented JSON (dates and decimals as text)."""
    return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, sort_keys=False)


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
templates.env.filters.update(when=when, duration=duration, pretty=pretty)


def navigation(path: str, role: str | None) -> list[NavLink]:
    """The navigation links this role may see, with the current section marked."""
    if role is None:
        return []
    return [NavLink(label, href, path == href or path.startswith(href + "/"))
            for label, href, needed in NAV_ITEMS if role_at_least(role, needed)]


def flash(request: Request, message: str, kind: str = "success") -> None:
    """Show `message` once on the next page rendered for this session (kind: success, error or info)."""
    request.session[FLASH_KEY] = [*request.session.get(FLASH_KEY, []), {"kind": kind, "message": message}]


def render(request: Request, template_name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> Response:
    """Render a page template with the console's common context added."""
    user = current_user(request)
    common = {
        "user": user,
        "csrf_token": csrf_token(request),
        "nav": navigation(request.url.path, user.role if user else None),
        "flashes": request.session.pop(FLASH_KEY, []),
        "can": lambda role: user is not None and role_at_least(user.role, role),
    }
    return templates.TemplateResponse(request, template_name, {**common, **(context or {})},
                                      status_code=status_code)


def download(body: bytes | str, kind: str, stem: str) -> Response:
    """A file download response (`kind` xlsx or csv) named after `stem` and the current time.

    CSV is sent as UTF-8 with a byte-order mark, so Excel shows accented names correctly."""
    if isinstance(body, str):
        body = body.encode("utf-8-sig")
    disposition = f'attachment; filename="{download_name(stem, kind)}"'
    return Response(body, media_type=MEDIA_TYPES[kind], headers={"Content-Disposition": disposition})
