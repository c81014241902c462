"""Practice pages under /lab/ that reproduce what flows meet on real third-party sites."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
