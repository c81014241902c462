"""Jinja2 templates of the portal and a helper to render a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.templating import Jinja2Templates, _TemplateResponse

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"


def _signed_in_user(request: Request) -> dict[str, Any]:
    session = request.scope.get("session") or {}
    return {"user": session.get("user")}


templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[_signed_in_user])
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> _TemplateResponse:
    """Render one page template with its context."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)
