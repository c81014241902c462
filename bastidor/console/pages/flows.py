"""The flow catalog pages: every flow as a documented procedure, with its versions and what changed.

- `/flows`: every flow under the flows folder, checked, with its version, last change and last run.
- `/flows/{path}`: one flow as a readable procedure (or its problems), its source and its version history.
- `/flows/{path}/diff?from=SHA&to=SHA`: the lines that changed between two versions (default: the last change).

Viewing a page records the flow's current version (see `bastidor.console.data.flow_versions`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastidor.console.app import error_page
from bastidor.console.context import get_context
from bastidor.console.data.catalog import catalog_row, catalog_rows, find_flow_file, load_entry, procedure_for
from bastidor.console.data.flow_changes import line_diff, summarize_change
from bastidor.console.data.flow_versions import FlowVersion, FlowVersions, changes, find_version
from bastidor.console.render import render
from bastidor.console.security import require


def list_flows(request: Request) -> Response:
    """Every flow of the catalog with its validation status, version, last change and last run."""
    require(request)
    context = get_context(request)
    rows = catalog_rows(context.flows_dir, context.store, FlowVersions(context.db))
    return render(request, "flows.html", {"rows": rows, "flows_dir": context.flows_dir})


def show_flow(request: Request) -> Response:
    """One flow as a readable procedure, with its problems when invalid, its source and its history."""
    require(request)
    context = get_context(request)
    path = request.path_params["path"]
    file = find_flow_file(context.flows_dir, path)
    if file is None:
        return error_page(request, 404, "Flow not found",
                          f"There is no flow '{path}' in the flows folder: pick one from the Flows list.")
    versions = FlowVersions(context.db)
    row = catalog_row(load_entry(context.flows_dir, file), context.store, versions)
    history = changes(versions.history(row.entry.path))
    return render(request, "flows_detail.html", {
        "row": row, "entry": row.entry, "procedure": procedure_for(row.entry, context.flows_dir),
        "history": history, "source_lines": history[0].version.source.splitlines() if history else []})


def show_diff(request: Request) -> Response:
    """The line diff between two versions of a flow, added and removed lines coloured and marked + and -."""
    require(request)
    path = request.path_params["path"]
    versions = FlowVersions(get_context(request).db)
    history = versions.history(path)
    if not history:
        return error_page(request, 404, "Flow not found", f"No versions of '{path}' are recorded yet: open the "
                          "flow from the Flows list first.")
    new = _version(history, request.query_params.get("to"), history[-1])
    older = [version for version in history if new is not None and version.number < new.number]
    old = _version(history, request.query_params.get("from"), older[-1] if older else new)
    if new is None or old is None:
        return error_page(request, 404, "Version not found", f"'{path}' has no recorded version with that hash: "
                          "pick the versions from the flow's history (at least the first 7 characters of a hash).")
    return render(request, "flows_diff.html", {
        "path": path, "history": history, "old": old, "new": new,
        "summary": summarize_change(old.source, new.source) if old.id != new.id else "the same version",
        "lines": line_diff(old.source, new.source)})


def _version(history: list[FlowVersion], sha: str | None, default: FlowVersion | None) -> FlowVersion | None:
    """The version whose hash is `sha` or starts with it (default when no hash is given), or None."""
    if not sha:
        return default
    return find_version(history, sha)


routes = [
    Route("/flows", list_flows, methods=["GET"]),
    Route("/flows/{path:path}/diff", show_diff, methods=["GET"]),
    Route("/flows/{path:path}", show_flow, methods=["GET"]),
]
