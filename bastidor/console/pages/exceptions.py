"""The Exceptions pages: the queue of business exceptions waiting for a person, one case with its history,
the actions operators take (assign, resolve, send back for a retry, done), and the list's exports.

    /exceptions?state=&assignee=&flow=&reason=&page=N
    /exceptions/export.xlsx?...  /exceptions/export.csv?...
    /exceptions/{run_id}/{item_ref}
    POST /exceptions/assign | /exceptions/resolve | /exceptions/retry | /exceptions/done
         (form: run_id, item_ref, note, assignee for assign, next = where to go back to)

Viewers see everything and change nothing: every POST checks the operator role on the server.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bastidor.console.app import error_page
from bastidor.console.context import ConsoleContext, get_context
from bastidor.console.csrf import posted_form
from bastidor.console.data import exception_actions as actions
from bastidor.console.data.exceptions import (
    STATE_CHOICES,
    CaseFilters,
    case_history,
    export_table,
    list_cases,
    open_case,
)
from bastidor.console.data.exports import export_file
from bastidor.console.data.items import latest_item
from bastidor.console.render import download, flash, render
from bastidor.console.roles import role_at_least
from bastidor.console.security import require, safe_next
from bastidor.console.users import User

Perform = Callable[[ConsoleContext, User, Any, actions.Recorder], actions.ActionOutcome]
"""An exception action as a page runs it: ``perform(context, user, form, audit) -> outcome``."""


def list_page(request: Request) -> Response:
    """The exceptions, oldest failure first, filtered by state, assignee, flow and reason."""
    require(request)
    ctx = get_context(request)
    page = list_cases(ctx.store, ctx.db, CaseFilters.from_query(request.query_params))
    here = f"/exceptions?{page.filters.query(page=page.page)}"
    return render(request, "exceptions.html", {"page": page, "filters": page.filters, "state_choices": STATE_CHOICES,
                                               "here": here})


def case_page(request: Request) -> Response:
    """One exception: its item, reason, state, who did what, and the actions for operators."""
    require(request)
    ctx = get_context(request)
    run_id, item_ref = request.path_params["run_id"], request.path_params["item_ref"]
    case = open_case(ctx.store, ctx.db, run_id, item_ref)
    if case is None:
        return error_page(request, 404, "Exception not found", f"There is no exception for item {item_ref} of run "
                          f"{run_id}. Pick one from the Exceptions list.")
    return render(request, "exceptions_case.html", {
        "case": case, "history": case_history(ctx.db, run_id, item_ref), "assignees": _assignable(ctx),
        "here": case_url(run_id, item_ref), "now": datetime.now(timezone.utc),
        "latest": latest_item(ctx.store, case.flow_name, item_ref)})


def assign(request: Request) -> Response:
    """Give an exception to the operator themselves or to another operator."""
    def act(ctx: ConsoleContext, user: User, form: Any, audit: actions.Recorder) -> actions.ActionOutcome:
        """Assign to the chosen operator (the person themselves when none is chosen)."""
        assignee = str(form.get("assignee") or user.name).strip()
        _check_assignee(ctx, assignee)
        return actions.assign(ctx.db, *_key(form), by=user.name, assignee=assignee, note=_note(form), audit=audit)
    return _act(request, "assign", act)


def resolve(request: Request) -> Response:
    """Record that the exception was handled, with a note saying how."""
    return _act(request, "resolve", lambda ctx, user, form, audit: actions.resolve(
        ctx.db, *_key(form), by=user.name, note=_note(form), audit=audit))


def retry(request: Request) -> Response:
    """Send the item back for a retry (requeued in the work queue when it came through it)."""
    return _act(request, "retry", lambda ctx, user, form, audit: actions.send_back(
        ctx.db, ctx.queue, *_key(form), by=user.name, note=_note(form), audit=audit))


def done(request: Request) -> Response:
    """Close the exception: nothing more is to be done."""
    return _act(request, "done", lambda ctx, user, form, audit: actions.mark_done(
        ctx.db, *_key(form), by=user.name, note=_note(form), audit=audit))


def export_xlsx(request: Request) -> Response:
    """The filtered exceptions (every page) as an Excel workbook."""
    return _export(request, "xlsx")


def export_csv(request: Request) -> Response:
    """The filtered exceptions (every page) as CSV."""
    return _export(request, "csv")


def _act(request: Request, action: str, perform: Perform) -> Response:
    """Check the role, do the action (audited before it commits), and go back where the person came from."""
    user = require(request, "operator")
    ctx, form = get_context(request), posted_form(request)
    back = safe_next(str(form.get("next") or "/exceptions"))

    def record(outcome: actions.ActionOutcome) -> None:
        """The action's one record in the console audit log."""
        ctx.audit.record(user.name, f"exception.{action}", **_audit_fields(action, outcome, _note(form)))

    try:
        open_case(ctx.store, ctx.db, *_key(form))
        outcome = perform(ctx, user, form, record)
    except actions.ActionRefused as refused:
        flash(request, str(refused), "error")
        return RedirectResponse(back, status_code=303)
    flash(request, outcome.message)
    return RedirectResponse(back, status_code=303)


def _audit_fields(action: str, outcome: actions.ActionOutcome, note: str) -> dict[str, Any]:
    """What the audit record of an exception action holds: the case, its new state, the note, the queue item."""
    case = outcome.case
    fields = {"run": case.run_id, "item_ref": case.item_ref, "flow_name": case.flow_name, "note": note or None,
              "state": case.state}
    if action == "assign":
        fields["assignee"] = case.assignee
    if outcome.queue_item_id is not None:
        fields["queue_item_id"] = outcome.queue_item_id
    return fields


def _export(request: Request, kind: str) -> Response:
    user = require(request)
    ctx = get_context(request)
    filters = CaseFilters.from_query(request.query_params)
    body, count = export_file(kind, *export_table(ctx.store, ctx.db, filters), sheet="Exceptions")
    ctx.audit.record(user.name, "exceptions.export", format=kind, filters=filters.query(), rows=count)
    return download(body, kind, "exceptions")


def case_url(run_id: str, item_ref: str) -> str:
    """The address of an exception's page."""
    return f"/exceptions/{quote(run_id, safe='')}/{quote(item_ref)}"


def _key(form: Any) -> tuple[str, str]:
    run_id, item_ref = str(form.get("run_id") or ""), str(form.get("item_ref") or "")
    if not run_id or not item_ref:
        raise actions.ActionRefused("The form did not say which exception it is about; open the exception "
                                    "from the list and try again.")
    return run_id, item_ref


def _note(form: Any) -> str:
    return str(form.get("note") or "").strip()


def _assignable(ctx: ConsoleContext) -> list[str]:
    """The users who can act on exceptions (operators and admins)."""
    return [user.name for user in ctx.users.list() if role_at_least(user.role, "operator")]


def _check_assignee(ctx: ConsoleContext, name: str) -> None:
    found = ctx.users.get(name)
    if found is None:
        raise actions.ActionRefused(f"There is no user {name!r}; pick one of the console's operators.")
    if not role_at_least(found.role, "operator"):
        raise actions.ActionRefused(f"{name} is a {found.role} and cannot act on exceptions; pick an operator.")


routes = [
    Route("/exceptions", list_page, methods=["GET"]),
    Route("/exceptions/export.xlsx", export_xlsx, methods=["GET"]),
    Route("/exceptions/export.csv", export_csv, methods=["GET"]),
    Route("/exceptions/assign", assign, methods=["POST"]),
    Route("/exceptions/resolve", resolve, methods=["POST"]),
    Route("/exceptions/retry", retry, methods=["POST"]),
    Route("/exceptions/done", done, methods=["POST"]),
    Route("/exceptions/{run_id}/{item_ref:path}", case_page, methods=["GET"]),
]
