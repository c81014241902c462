"""The Invoices page: every supplier invoice recorded through the JSON API."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bastidor.demo_portal.rendering import page


def list_invoices(request: Request) -> Response:
    """GET /invoices: a table of every recorded supplier invoice."""
    return page(request, "invoices.html", invoices=request.app.state.store.invoices())
