"""The Items pages: every work item with filters and paging, one item's timeline of attempts, and the
list's exports to Excel and CSV (same filters as the page, every page of them).

    /items?flow=&status=&exception=&ref=&from=YYYY-MM-DD&to=YYYY-MM-DD&page=N
    /items/export.xlsx?...  /items/export.csv?...
    /items/{run_id}/{item_ref}
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastidor.console.app import error_page
from bastidor.console.context import get_context
from bastidor.console.data.exceptions import get_case
from bastidor.console.data.exports import export_file
from bastidor.console.data.item_timeline import item_timeline
from bastidor.console.data.items import EXCEPTION_CHOICES, STATUS_CHOICES, ItemFilters, export_table, list_items
from bastidor.console.render import download, render
from bastidor.console.security import require


def list_page(request: Request) -> Response:
    """The items, newest first, filtered by flow, status, exception kind, reference and date."""
    require(request)
    filters = ItemFilters.from_query(request.query_params)
    page = list_items(get_context(request).store, filters)
    return render(request, "items.html", {"page": page, "filters": page.filters,
                                          "status_choices": STATUS_CHOICES, "exception_choices": EXCEPTION_CHOICES})


def detail_page(request: Request) -> Response:
    """Every attempt at one item of one flow, with steps, input and submitted values, and queue history."""
    require(request)
    run_id, item_ref = request.path_params["run_id"], request.path_params["item_ref"]
    ctx = get_context(request)
    timeline = item_timeline(ctx.store, ctx.queue, run_id, item_ref)
    if timeline is None:
        return error_page(request, 404, "Item not found",
                          f"Run {run_id} has no item {item_ref}. Pick one from the Items list.")
    case = get_case(ctx.db, run_id, item_ref)
    return render(request, "items_detail.html", {"timeline": timeline, "case": case})


def export_xlsx(request: Request) -> Response:
    """The filtered items (every page) as an Excel workbook."""
    return _export(request, "xlsx")


def export_csv(request: Request) -> Response:
    """The filtered items (every page) as CSV."""
    return _export(request, "csv")


def _export(request: Request, kind: str) -> Response:
    user = require(request)
    ctx = get_context(request)
    filters = ItemFilters.from_query(request.query_params)
    body, count = export_file(kind, *export_table(ctx.store, filters), sheet="Items")
    ctx.audit.record(user.name, "items.export", format=kind, filters=filters.query(), rows=count)
    return download(body, kind, "items")


routes = [
    Route("/items", list_page, methods=["GET"]),
    Route("/items/export.xlsx", export_xlsx, methods=["GET"]),
    Route("/items/export.csv", export_csv, methods=["GET"]),
    Route("/items/{run_id}/{item_ref:path}", detail_page, methods=["GET"]),
]
