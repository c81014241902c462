"""``POST /api/v1/queues/{flow}/items`` adds work items to a flow's queue (the queue is named after the flow),
all or none: a reference already in the queue refuses the batch with 409 naming it. ``GET /api/v1/items/{id}``
says where one item is. The items wait until a run of the flow takes them (its `for_each_item` claims every
new item of the queue): start one with POST /api/v1/runs, or let the flow's schedule do it."""

from __future__ import annotations

from starlette.requests import Request

from bastidor.console.api import API_PREFIX
from bastidor.console.api.errors import ApiError, invalid, not_found
from bastidor.console.api.flows import find_flow, flow_name, relative_path
from bastidor.console.api.guard import record_action
from bastidor.console.api.models import (
    AddedItem,
    AddItems,
    ItemsAdded,
    ItemStatus,
    Links,
)
from bastidor.console.api.queue_access import DuplicateReferences, add_all_or_none
from bastidor.console.api.routes import (
    ID_PARAMETER_SCHEMA,
    ApiRoute,
    PathParameter,
    Reply,
    positive_id,
)
from bastidor.console.context import ConsoleContext
from bastidor.console.tokens import ApiToken

MAX_QUEUE_NAME = 200
MAX_REFERENCES_SHOWN = 5


def add_items(request: Request, token: ApiToken, body: AddItems) -> Reply:
    """Add the batch to the flow's queue; 201 with each item's id, or 409 naming the references already there."""
    from bastidor.queue import NewItem

    context: ConsoleContext = request.app.state.console
    file = find_flow(context.flows_dir, request.path_params["flow"])
    queue_name = flow_name(file)
    if queue_name is None or len(queue_name) > MAX_QUEUE_NAME:
        raise invalid(f"the flow {relative_path(context.flows_dir, file)!r} has no usable `name:` (its queue is "
                      f"named after it, at most {MAX_QUEUE_NAME} characters): fix the flow file")
    references = [item.reference for item in body.items]
    record_action(request, token, "api.items.add", queue=queue_name, count=len(references), references=references)
    new_items = [NewItem(item.reference, item.data, item.priority, item.defer_until, item.deadline)
                 for item in body.items]
    try:
        ids = add_all_or_none(context.queue, queue_name, new_items)
    except DuplicateReferences as duplicates:
        raise _duplicates(queue_name, duplicates.references) from None
    added = [AddedItem(id=ids[reference], reference=reference, links=Links(self=f"{API_PREFIX}/items/{ids[reference]}"))
             for reference in references]
    return Reply(201, ItemsAdded(queue=queue_name, added=added))


def _duplicates(queue_name: str, references: list[str]) -> ApiError:
    shown = ", ".join(repr(reference) for reference in references[:MAX_REFERENCES_SHOWN])
    more = f" and {len(references) - MAX_REFERENCES_SHOWN} more" if len(references) > MAX_REFERENCES_SHOWN else ""
    return ApiError(409, "duplicate_reference", f"the reference {shown}{more} is already in the queue of "
                    f"{queue_name!r} (a reference is added once, ever), so nothing of this batch was added: send "
                    "the batch again without it", references=references)


def show_item(request: Request, token: ApiToken, body: None) -> Reply:
    """A work item's state, attempts and outcome."""
    context: ConsoleContext = request.app.state.console
    wanted = positive_id(request, "a work item")
    item = context.queue.get_item(wanted)
    if item is None:
        raise not_found(f"there is no work item with id {wanted}: use an id POST /api/v1/queues/{{flow}}/items "
                        "answered with")
    links = Links(self=f"{API_PREFIX}/items/{item.id}", report=f"/runs/{item.run_id}" if item.run_id else None)
    status = ItemStatus(
        id=item.id, queue=item.queue_name, reference=item.reference, state=item.state, attempts=item.attempts,
        max_attempts=item.max_attempts, priority=item.priority, created_at=item.created_at,
        updated_at=item.updated_at, defer_until=item.defer_until, deadline=item.deadline,
        exception_kind=item.exception_kind, reason=item.reason, run_id=item.run_id, links=links)
    return Reply(200, status)


ITEM_ROUTES = [
    ApiRoute("POST", f"{API_PREFIX}/queues/{{flow:path}}/items", "operator", add_items, "Add work items",
             "Adds 1 to 1,000 work items to a flow's queue, all or none. A reference already in the queue (in any "
             "state, ever) refuses the whole batch with 409 naming it. The items wait for a run of the flow.",
             answer=(201, ItemsAdded), errors=(404, 409, 415, 422), body=AddItems,
             parameters=(PathParameter("flow", {"type": "string", "minLength": 1, "maxLength": 500},
                                       "The flow's name (e.g. `Order entry`) or its path under the console's "
                                       "flows folder."),)),
    ApiRoute("GET", f"{API_PREFIX}/items/{{id}}", "viewer", show_item, "A work item's status",
             "The item's state (new, in_progress, successful, failed), attempts, outcome and the run that took it.",
             answer=(200, ItemStatus), errors=(404, 422),
             parameters=(PathParameter("id", ID_PARAMETER_SCHEMA, "The work item's id."),)),
]
