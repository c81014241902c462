"""``POST /api/v1/runs`` starts a flow of the console's flows folder with inputs, the way `runner.py trigger`
does (a run request in the work queue, which a running `serve` picks up; recorded in the triggers log);
``GET /api/v1/runs/{id}`` says where that request is and, once a bot ran it, how the run went."""

from __future__ import annotations

import uuid
from pathlib import Path

from starlette.requests import Request

from bastidor.console.api import API_PREFIX
from bastidor.console.api.errors import invalid, not_found
from bastidor.console.api.flows import find_flow, flow_name, relative_path
from bastidor.console.api.guard import record_action
from bastidor.console.api.models import (
    ItemCounts,
    Links,
    RunAccepted,
    RunStatus,
    StartRun,
)
from bastidor.console.api.queue_access import request_id
from bastidor.console.api.routes import (
    ID_PARAMETER_SCHEMA,
    ApiRoute,
    PathParameter,
    Reply,
    positive_id,
)
from bastidor.console.context import ConsoleContext
from bastidor.console.tokens import ApiToken
from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import Flow

MAX_PROBLEMS_SHOWN = 20


def start_run(request: Request, token: ApiToken, body: StartRun) -> Reply:
    """Queue a run of the flow with the inputs; 202 with the run request's id and where to follow it."""
    from bastidor.service.trigger import trigger_run

    context: ConsoleContext = request.app.state.console
    file = find_flow(context.flows_dir, body.flow)
    flow = _valid_flow(context, file, body.inputs)
    key = f"api:{uuid.uuid4()}"
    shown_path = relative_path(context.flows_dir, file)
    record_action(request, token, "api.run.start", flow_name=flow.name, flow_path=shown_path, key=key,
                  inputs=sorted(body.inputs))
    trigger_run(context.queue, context.home, str(file), context.schedules_path, dict(body.inputs),
                f"api:{token.name}", key)
    queued = request_id(context.queue, key)
    assert queued is not None, "a run request just queued is in the queue"
    self_link = f"{API_PREFIX}/runs/{queued}"
    accepted = RunAccepted(id=queued, key=key, state="queued", flow=flow.name, flow_path=shown_path,
                           links=Links(self=self_link))
    return Reply(202, accepted, {"Location": self_link})


def _valid_flow(context: ConsoleContext, file: Path, inputs: dict) -> Flow:
    """The loaded flow when it is valid and takes these inputs; 422 naming the problems otherwise."""
    from bastidor.console.data.catalog import shown_problem
    from bastidor.executor.inputs import InputError, resolve_inputs
    from bastidor.flow.loader import load_flow

    try:
        flow = load_flow(file)
    except FlowValidationError as error:
        problems = [shown_problem(diagnostic, context.flows_dir) for diagnostic in error.diagnostics]
        raise invalid(f"the flow {relative_path(context.flows_dir, file)!r} does not pass `validate`, so it "
                      f"cannot run: {problems[0] if problems else error}",
                      [{"where": "flow", "message": problem} for problem in problems[:MAX_PROBLEMS_SHOWN]]) from None
    try:
        resolve_inputs(flow.header, file.parent, inputs)
    except InputError as error:
        message = str(error).replace("give it with --input", "give it in `inputs`, e.g.")
        raise invalid(f"inputs: {message}", [{"where": "inputs", "message": message}]) from None
    return flow


def show_run(request: Request, token: ApiToken, body: None) -> Reply:
    """A run request's state and, once started, its run's outcome, item counts and report page."""
    context: ConsoleContext = request.app.state.console
    wanted = positive_id(request, "a run request")
    queued = context.queue.get_run(wanted)
    if queued is None:
        raise not_found(f"there is no run request with id {wanted}: use the id POST /api/v1/runs answered with")
    run = context.store.get_run(queued.run_id) if queued.run_id else None
    file = Path(queued.flow_path)
    counts = ItemCounts(total=run.items_total, succeeded=run.items_succeeded, failed=run.items_failed) if run else None
    links = Links(self=f"{API_PREFIX}/runs/{queued.id}", report=f"/runs/{queued.run_id}" if queued.run_id else None)
    status = RunStatus(
        id=queued.id, key=queued.key, flow=run.flow_name if run else (flow_name(file) or file.stem),
        flow_path=relative_path(context.flows_dir, file), state=queued.state, requested_by=queued.requested_by,
        attempts=queued.attempts, enqueued_at=queued.enqueued_at,
        started_at=queued.started_at or (run.started_at if run else None),
        ended_at=queued.finished_at or (run.ended_at if run else None), run_id=queued.run_id,
        run_status=run.status if run else None, items=counts, error=queued.error or (run.error if run else None),
        links=links)
    return Reply(200, status)


RUN_ROUTES = [
    ApiRoute("POST", f"{API_PREFIX}/runs", "operator", start_run, "Start a flow",
             "Queues a run of a flow of the console's flows folder with the given inputs, as `runner.py trigger` "
             "does; a running `serve` picks it up. Follow it with GET /api/v1/runs/{id}.",
             answer=(202, RunAccepted), errors=(404, 409, 415, 422), body=StartRun),
    ApiRoute("GET", f"{API_PREFIX}/runs/{{id}}", "viewer", show_run, "A run request's status",
             "Where the run request is (queued, running, done, failed...), and once a bot started it: the run's "
             "status, its work-item counts, when it started and ended, and its page in the console.",
             answer=(200, RunStatus), errors=(404, 422),
             parameters=(PathParameter("id", ID_PARAMETER_SCHEMA, "The run request's id."),)),
]
