"""`bot: {block: [...]}`: the requests a flow's browser refuses, checked as the flow is read.

An entry is a word for a kind of resource (`images`, `fonts`, `media`, `stylesheets`) or a URL pattern in
Playwright's glob syntax (`**/analytics/**`, `*://ads.example.com/**`), matched against the whole address.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from bastidor.flow.diagnostics import did_you_mean

BLOCK_WORDS = {"images": "image", "fonts": "font", "media": "media", "stylesheets": "stylesheet"}
"""Words a flow writes under `block`, and the resource type (Playwright's `request.resource_type`) each one
stops."""

_PATTERN_MARKS = ("/", "*", ".")


def check_block_entry(entry: str) -> str:
    """`entry` when it is a known word or a URL pattern that can match; otherwise a ValueError that says what
    to write instead."""
    if entry in BLOCK_WORDS:
        return entry
    if not entry.strip():
        raise ValueError(f"an empty entry blocks nothing: write one of {_words()}, or a URL pattern such as "
                         "'**/analytics/**'")
    if not any(mark in entry for mark in _PATTERN_MARKS):
        hint = did_you_mean(entry.strip().lower(), BLOCK_WORDS)
        if hint.startswith(", did you mean"):
            raise ValueError(f"'{entry}' is not a kind of request to block{hint}")
        raise ValueError(f"'{entry}' is neither a kind of request to block ({_words()}) nor a URL pattern "
                         "(a pattern has a / or a *, e.g. '**/analytics/**')")
    return _check_pattern(entry)


def _check_pattern(pattern: str) -> str:
    if pattern.startswith("*") and not pattern.startswith("**") and "://" not in pattern:
        raise ValueError(f"'{pattern}' never matches: a pattern is matched against the whole address, and a "
                         f"single * stops at a /; write '**/{pattern}'")
    depth, escaped = 0, False
    for char in pattern:
        if escaped or char not in "{}\\":
            escaped = False
            continue
        if char == "\\":
            escaped = True
            continue
        depth += 1 if char == "{" else -1
        if depth not in (0, 1):
            raise ValueError(f"'{pattern}' has a '{char}' out of place: {{a,b}} (not nested) matches a or b; "
                             "write \\{ or \\} for the character itself")
    if depth:
        raise ValueError(f"'{pattern}' opens a {{ and never closes it: {{a,b}} matches a or b")
    return pattern


def _words() -> str:
    return ", ".join(BLOCK_WORDS)


def _checked(entry: Any) -> Any:
    return check_block_entry(entry) if isinstance(entry, str) else entry


BlockEntry = Annotated[str, AfterValidator(_checked), Field(
    description="images, fonts, media or stylesheets, or a URL pattern such as **/analytics/**.")]
"""One entry of `bot: {block: [...]}`."""
