"""The Schedules page: each schedule of schedules.yaml with its trigger, calendar, next fire times, last
outcome and pause state; operators pause and resume schedules (audited, honoured by a running `serve`
at its next fire without a restart).

    GET  /schedules
    POST /schedules/{schedule_id}/pause     (form: note, csrf_token)   operator
    POST /schedules/{schedule_id}/resume    (form: csrf_token)         operator

A pause or resume whose audit record cannot be written is undone before the error page is shown.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bastidor.audit import AuditWriteError
from bastidor.console.app import error_page
from bastidor.console.context import ConsoleContext, get_context
from bastidor.console.csrf import posted_form
from bastidor.console.data.schedules import find_schedule, list_schedules
from bastidor.console.render import flash, render
from bastidor.console.security import require
from bastidor.service.pauses import NOTE_MAX_CHARS, AlreadyPaused, PauseError, SchedulePauses, open_schedule_pauses
from bastidor.database.places import places_for

LIST_URL = "/schedules"
logger = logging.getLogger(__name__)


def schedules_page(request: Request) -> Response:
    """Every schedule with when it fires next, how its latest fire ended, and whether it is paused."""
    require(request)
    context = get_context(request)
    try:
        with _pauses(context) as pauses:
            listing = list_schedules(context.schedules_path, context.queue, pauses, dt.datetime.now(dt.timezone.utc))
    except PauseError as error:
        return error_page(request, 503, "Schedules unavailable", _sentence(error))
    return render(request, "schedules.html", {"listing": listing, "note_max": NOTE_MAX_CHARS})


def pause(request: Request) -> Response:
    """Pause a schedule: from its next fire on, fires are recorded as skipped ("paused by ...")."""
    user = require(request, "operator")
    context = get_context(request)
    schedule_id = request.path_params["schedule_id"]
    if find_schedule(context.schedules_path, schedule_id) is None:
        flash(request, f"There is no schedule '{schedule_id}' in {context.schedules_path.name}; nothing was paused.",
              "error")
        return RedirectResponse(LIST_URL, status_code=303)
    note = str(posted_form(request).get("note") or "")
    try:
        with _pauses(context) as pauses:
            paused = pauses.pause(schedule_id, user.name, note=note)
    except PauseError as error:  # AlreadyPaused included: someone else was first
        flash(request, _sentence(error), "info" if isinstance(error, AlreadyPaused) else "error")
        return RedirectResponse(LIST_URL, status_code=303)
    try:
        context.audit.record(user.name, "schedule.pause", schedule_id=schedule_id, note=paused.note)
    except AuditWriteError:
        _undo(context, lambda pauses: pauses.resume(schedule_id))
        raise
    flash(request, f"Paused {schedule_id}: its fires are recorded as skipped until someone resumes it.")
    return RedirectResponse(LIST_URL, status_code=303)


def resume(request: Request) -> Response:
    """Resume a paused schedule: it queues runs again from its next fire time."""
    user = require(request, "operator")
    context = get_context(request)
    schedule_id = request.path_params["schedule_id"]
    try:
        with _pauses(context) as pauses:
            ended = pauses.resume(schedule_id)
    except PauseError as error:
        flash(request, _sentence(error), "error")
        return RedirectResponse(LIST_URL, status_code=303)
    if ended is None:
        flash(request, f"{schedule_id} is not paused; nothing changed.", "info")
        return RedirectResponse(LIST_URL, status_code=303)
    try:
        context.audit.record(user.name, "schedule.resume", schedule_id=schedule_id, note=ended.note,
                             paused_by=ended.paused_by)
    except AuditWriteError:
        _undo(context, lambda pauses: pauses.pause(schedule_id, ended.paused_by, note=ended.note, now=ended.paused_at))
        raise
    flash(request, f"Resumed {schedule_id}: it runs again from its next fire time.")
    return RedirectResponse(LIST_URL, status_code=303)


@contextmanager
def _pauses(context: ConsoleContext) -> Iterator[SchedulePauses]:
    """The pause store in the queue's database file, the one the service's scheduler reads."""
    pauses = open_schedule_pauses(places_for(context.home).queue)
    try:
        yield pauses
    finally:
        pauses.close()


def _undo(context: ConsoleContext, change: Callable[[SchedulePauses], object]) -> None:
    """Take back a pause or resume that could not be audited (someone else's change since then is kept)."""
    try:
        with _pauses(context) as pauses:
            change(pauses)
    except PauseError:
        logger.error("could not undo an unaudited schedule change", exc_info=True)


def _sentence(error: PauseError) -> str:
    text = str(error)
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


routes = [
    Route(LIST_URL, schedules_page, methods=["GET"]),
    Route(LIST_URL + "/{schedule_id}/pause", pause, methods=["POST"]),
    Route(LIST_URL + "/{schedule_id}/resume", resume, methods=["POST"]),
]
