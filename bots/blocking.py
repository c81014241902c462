"""Refusing a context's requests for `bot: {block: [...]}`: kinds of resource and URL patterns, counted.

The words (`images`, `fonts`, `media`, `stylesheets`) are matched on the request's resource type by one route
for every address; each other entry is a URL pattern routed on its own, so Playwright matches it with its own
glob rules. A refused request is aborted as "blocked by client", which is what the page sees.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Iterable

from playwright.sync_api import BrowserContext, Route
from playwright.sync_api import Error as PlaywrightError

from bastidor.flow.blocking import BLOCK_WORDS


class RequestBlocker:
    """Aborts the requests a flow's `block` entries name in one browser context, and counts them."""

    def __init__(self, entries: Iterable[str]) -> None:
        entries = list(entries)
        self.resource_types = frozenset(BLOCK_WORDS[entry] for entry in entries if entry in BLOCK_WORDS)
        self.patterns = [entry for entry in entries if entry not in BLOCK_WORDS]
        self.blocked = 0
        """Requests aborted so far."""

    def install(self, context: BrowserContext) -> None:
        """Route `context`'s requests through this blocker (before its first page opens)."""
        if self.resource_types:
            context.route("**/*", self._by_type)
        for pattern in self.patterns:
            context.route(pattern, self._abort)

    def _by_type(self, route: Route) -> None:
        if route.request.resource_type in self.resource_types:
            self._abort(route)
            return
        with suppress(PlaywrightError):  # the page went away meanwhile: nothing left to let through
            route.fallback()

    def _abort(self, route: Route) -> None:
        self.blocked += 1
        with suppress(PlaywrightError):
            route.abort("blockedbyclient")
