"""What a step can see on the page at this moment: an element showing, or the address matching a pattern.

Steps that decide by outcome (`repeat` with `until_visible` or `unless_visible`, `wait_for_any`) look
without waiting and look again, so that one deadline covers several outcomes at once. This module
registers no step type.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from bastidor.actions.base import element
from bastidor.flow.target import TargetFields
from bastidor.flow.types import DurationMs

POLL_MS = 100
"""How often outcomes are looked at while waiting for one of them."""


class VisibleCheck(TargetFields):
    """An element to look for, and how long to give it to show (default 0: look once, do not wait)."""

    timeout: DurationMs = Field(0, description="How long to wait for it to show (default: look once).")


def current_target(ctx: Any, target: TargetFields) -> TargetFields:
    """The target keys of `target` with their `{{ }}` values worked out now, as a plain target."""
    keys = set(TargetFields.model_fields)
    written = target.model_dump(exclude_unset=True, include=keys)
    return TargetFields.model_construct(**ctx.render(written))


def is_showing(ctx: Any, target: TargetFields) -> bool:
    """Whether the target's element is visible on the page right now (no waiting)."""
    return bool(element(ctx, current_target(ctx, target)).first.is_visible())


def shows_within(ctx: Any, check: VisibleCheck, timeout_ms: int | None = None) -> bool:
    """Whether the element is visible now or becomes visible within `timeout_ms` (default: the check's own)."""
    wait_ms = check.timeout if timeout_ms is None else timeout_ms
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        if is_showing(ctx, check):
            return True
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            return False
        ctx.page.wait_for_timeout(min(POLL_MS, left_ms))


def url_matches(url: str, pattern: str) -> bool:
    """Whether a page address matches a pattern as `wait_for_url` reads it: `*` within one part of the
    address, `**` across parts. A pattern starting with `/` is matched against the path (and query)."""
    regex = re.compile(_glob_regex(pattern))
    if regex.fullmatch(url):
        return True
    if pattern.startswith("/"):
        parts = urlsplit(url)
        return bool(regex.fullmatch(parts.path) or regex.fullmatch(f"{parts.path}?{parts.query}"))
    return False


def _glob_regex(pattern: str) -> str:
    pieces = re.split(r"(\*\*|\*)", pattern)
    wildcards = {"**": ".*", "*": "[^/]*"}
    return "".join(wildcards.get(piece, re.escape(piece)) for piece in pieces)
