"""A flaky order page under /lab/flaky-order that fails at random and shows a receipt when it succeeds."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
