"""The Bots page: every machine's service and its bots, what each bot is doing, when each last beat, runs per
hour, which service holds the scheduler, and services that went silent (stale) called out in words.

    GET  /bots      any signed-in role

Read from the services registry and the work queue in the queue's database (`bastidor.service.fleet`):
with a shared PostgreSQL database, a console on any machine shows every machine.
"""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastidor.console.app import error_page
from bastidor.console.context import get_context
from bastidor.console.render import render
from bastidor.console.security import require
from bastidor.database.places import places_for
from bastidor.service.fleet import RATE_WINDOW, load_fleet
from bastidor.service.registry import STALE_AFTER_BEATS, RegistryError

PAGE_URL = "/bots"


def bots_page(request: Request) -> Response:
    """Every registered service with its bots, the scheduler holder marked and stale services named."""
    require(request)
    context = get_context(request)
    now = dt.datetime.now(dt.timezone.utc)
    try:
        fleet = load_fleet(places_for(context.home).queue, now)
    except RegistryError as error:
        return error_page(request, 503, "Bots unavailable", str(error))
    return render(request, "bots.html", {"fleet": fleet, "age": age_text, "ago": ago,
                                         "stale_beats": STALE_AFTER_BEATS,
                                         "window_h": RATE_WINDOW.total_seconds() / 3600})


def age_text(seconds: float) -> str:
    """A duration in words a supervisor reads at a glance: "4 s", "2 min", "3 h", "2 days"."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    """"4 s ago", or "never" for no moment."""
    return "never" if moment is None else f"{age_text((now - moment).total_seconds())} ago"


routes = [Route(PAGE_URL, bots_page, methods=["GET"])]
