"""The Runs pages: the list with filters and paging, one run's timeline and evidence, its screenshots (from
the home folder, or from the shared database for runs that ran on another machine)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from bastidor.console.context import get_context
from bastidor.console.data.run_audit import shared_screenshot
from bastidor.console.data.run_detail import load_run_detail, screenshot_file
from bastidor.console.data.runs import RunFilters, flow_names, list_runs
from bastidor.console.render import render
from bastidor.console.security import require
from bastidor.store.records import RUN_STATUSES


def home(request: Request) -> Response:
    """The console's home page is the list of runs."""
    require(request)
    return RedirectResponse("/runs", status_code=303)


def runs_page(request: Request) -> Response:
    """The runs, newest first, filtered by flow, status and start date, 50 a page."""
    require(request)
    store = get_context(request).store
    filters = RunFilters.from_query(request.query_params)
    page = list_runs(store, filters)
    base_query = filters.query_string()
    return render(request, "runs.html", {
        "result": page, "filters": page.filters, "flows": flow_names(store), "statuses": RUN_STATUSES,
        "base_url": "/runs" + (f"?{base_query}" if base_query else ""),
    })


def run_page(request: Request) -> Response:
    """One run: facts, audit verdict, step timeline with parameters and screenshots, items."""
    require(request)
    context = get_context(request)
    run_id = request.path_params["run_id"]
    detail = load_run_detail(context.store, context.runs_dir, run_id)
    if detail is None:
        raise HTTPException(404, f"There is no run with the id {run_id!r}. Pick one from the list of runs.")
    return render(request, "run_detail.html", {"detail": detail, "run": detail.run})


def screenshot(request: Request) -> Response:
    """A failure screenshot a step of the run recorded: from that run's folder in the home folder, or, for a
    run whose files are on another machine, from the shared database's artifact store."""
    require(request)
    context = get_context(request)
    run_id, name = request.path_params["run_id"], request.path_params["name"]
    path = screenshot_file(context.store, context.runs_dir, run_id, name)
    if path is not None:
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-store"})
    data = shared_screenshot(context.store, run_id, name)
    if data is None:
        raise HTTPException(404, "There is no such screenshot for this run.")
    return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})


routes = [
    Route("/", home, methods=["GET"]),
    Route("/runs", runs_page, methods=["GET"]),
    Route("/runs/{run_id}", run_page, methods=["GET"]),
    Route("/runs/{run_id}/screenshots/{name}", screenshot, methods=["GET"]),
]
