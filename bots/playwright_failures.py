"""Reading what went wrong from a Playwright error: its first line and its call log, as plain facts.

Playwright explains a failed action in a message followed by a call log of every attempt, e.g.

    Locator.click: Timeout 2000ms exceeded.
    Call log:
      - waiting for locator("#save")
        - locator resolved to <button id="save">Save</button>
        - <div class="overlay">…</div> intercepts pointer events

`read_failure` turns such a message into a `PlaywrightFailure` (timed out after 2000 ms, the element was
found, something covers it), from which a message of a few lines is written for the analyst. The raw
message is kept for the audit log and the report, never shown on the terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TIMEOUT = re.compile(r"Timeout (\d+)ms exceeded")
_STRICT = re.compile(r"strict mode violation: .*? resolved to (\d+) elements")
_STRICT_ELEMENT = re.compile(r"^\s+\d+\) (<.*?>)", re.MULTILINE)
_OPENING_TAG = re.compile(r"<[A-Za-z][^<>]*>")
_COVER = re.compile(r"- (?P<element><[A-Za-z][^<>]*>).*?(?: from (?P<root><[A-Za-z][^<>]*>).*? subtree)? "
                    r"intercepts pointer events")
_NETWORK = re.compile(r"(net::ERR_[A-Z_]+)(?: at (\S+))?")
_STATES = {
    "element is not visible": "hidden",
    "element is not enabled": "disabled",
    "element is not editable": "read_only",
    "element is not stable": "moving",
    "element is outside of the viewport": "outside",
    "did not find some options": "no_option",
}
MAX_ELEMENTS = 3
"""How many of the elements a strict-mode violation lists are kept."""


@dataclass
class PlaywrightFailure:
    """What a Playwright error says happened, in facts a message can be written from."""

    first_line: str
    timeout_ms: int | None = None
    """The timeout that ran out, when the action timed out."""
    matches: int | None = None
    """How many elements matched, when the locator was ambiguous (a strict-mode violation)."""
    matched: list[str] = field(default_factory=list)
    """The opening tags of the first few elements that matched an ambiguous locator."""
    resolved: bool = False
    """Whether the locator found its element before the failure."""
    covered_by: str | None = None
    """The opening tag of the element that took the click instead."""
    state: str | None = None
    """Why a found element could not be used: hidden, disabled, read_only, moving, outside or no_option."""
    network_error: str | None = None
    """The browser's network error for a page that could not be opened, e.g. net::ERR_CONNECTION_REFUSED."""

    @property
    def not_found(self) -> bool:
        """Nothing matched the locator before the timeout ran out."""
        return self.timeout_ms is not None and not self.resolved and self.matches is None


def read_failure(message: str) -> PlaywrightFailure:
    """The facts in a Playwright error message (its first line and call log)."""
    lines = [line for line in message.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    failure = PlaywrightFailure(first_line=_without_api_name(first))
    timeout = _TIMEOUT.search(first)
    failure.timeout_ms = int(timeout.group(1)) if timeout else None
    strict = _STRICT.search(message)
    if strict:
        failure.matches = int(strict.group(1))
        failure.matched = [_opening_tag(tag) for tag in _STRICT_ELEMENT.findall(message)[:MAX_ELEMENTS]]
    failure.resolved = "locator resolved to" in message
    covers = list(_COVER.finditer(message))
    if covers:
        last = covers[-1]
        failure.covered_by = last.group("root") or last.group("element")
    failure.state = next((state for text, state in _STATES.items() if text in message), None)
    network = _NETWORK.search(first)
    if network:
        failure.network_error = network.group(1)
    return failure


def _without_api_name(line: str) -> str:
    """`Locator.click: Timeout 2000ms exceeded.` without the `Locator.click: ` (an API name, not the page's)."""
    return re.sub(r"^[A-Z][A-Za-z]*\.[a-z_]+: (Error: )?", "", line)


def _opening_tag(element: str) -> str:
    tag = _OPENING_TAG.match(element)
    return tag.group(0) if tag else element
