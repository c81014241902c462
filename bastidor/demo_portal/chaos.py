"""Run-time chaos switches: a random delay on every request and random 503s on form requests.

A failing request answers 503 before it reaches the app, so it never changes any state.
"""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

from starlette.requests import Request
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from bastidor.demo_portal.settings import check_chaos_values

FORM_PAGES = frozenset({"/orders/new", "/customers/new", "/orders/import"})
UNCHAOTIC_POSTS = frozenset({"/login", "/logout"})


def is_form_request(method: str, path: str) -> bool:
    """True for a business form page (GET) or any business form submission (POST)."""
    if path.startswith(("/api/", "/static/")) or path in UNCHAOTIC_POSTS:
        return False
    return method == "POST" or (method == "GET" and path in FORM_PAGES)


class ChaosSwitches:
    """The delay and failure switches, changeable while the portal runs."""

    def __init__(self, delay_ms_max: int, failure_rate: float, rng: random.Random) -> None:
        check_chaos_values(delay_ms_max, failure_rate)
        self.delay_ms_max = delay_ms_max
        self.failure_rate = failure_rate
        self._rng = rng
        self._lock = threading.Lock()

    def update(self, delay_ms_max: int | None = None, failure_rate: float | None = None,
               seed: int | None = None) -> None:
        """Change either switch (and optionally re-seed the random draws, for repeatable tests); raise
        ValueError (and change nothing) when a value is out of range."""
        new_delay = self.delay_ms_max if delay_ms_max is None else delay_ms_max
        new_rate = self.failure_rate if failure_rate is None else failure_rate
        check_chaos_values(new_delay, new_rate)
        with self._lock:
            self.delay_ms_max, self.failure_rate = new_delay, float(new_rate)
            if seed is not None:
                self._rng.seed(seed)

    def as_json(self) -> dict[str, Any]:
        """Return the current switches."""
        return {"delay_ms_max": self.delay_ms_max, "failure_rate": self.failure_rate}

    def draw_delay_seconds(self) -> float:
        """Return a random delay between 0 and delay_ms_max, in seconds."""
        with self._lock:
            if self.delay_ms_max <= 0:
                return 0.0
            return self._rng.uniform(0, self.delay_ms_max) / 1000

    def draw_failure(self) -> bool:
        """Return True with probability failure_rate."""
        with self._lock:
            return self.failure_rate > 0 and self._rng.random() < self.failure_rate


class ChaosMiddleware:
    """ASGI middleware that applies the chaos switches before the app sees a request."""

    def __init__(self, app: ASGIApp, switches: ChaosSwitches, templates: Jinja2Templates) -> None:
        self.app = app
        self.switches = switches
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Delay, maybe fail with 503, otherwise pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        delay = self.switches.draw_delay_seconds()
        if delay:
            await asyncio.sleep(delay)
        if is_form_request(scope["method"], scope["path"]) and self.switches.draw_failure():
            request = Request(scope, receive)
            response = self.templates.TemplateResponse(
                request, "unavailable.html", {"user": None}, status_code=503, headers={"Retry-After": "1"}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
