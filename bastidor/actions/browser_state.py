"""The browser's memory of the sites it visited: `clear_storage` forgets cookies and stored data.

A flow that signs in as several users one after the other, or whose site keeps a cart or a half-filled
form in the browser, clears what the site stored before going on. To start every work item afresh, set
`bot: {fresh_context: per_item}` instead: each item then gets a browser context of its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.actions.wording import joined

Kept = Literal["cookies", "local_storage", "session_storage"]
WORDS = {"cookies": "cookies", "local_storage": "local storage", "session_storage": "session storage"}


class ClearStorageParams(Params):
    """What to forget: cookies, local storage and session storage (all three unless `only` says)."""

    only: list[Kept] = Field(["cookies", "local_storage", "session_storage"], min_length=1,
                             description="Forget only these: cookies, local_storage, session_storage.")


@action("clear_storage", params=ClearStorageParams, kind="browser", shorthand="only",
        describe=lambda w: "Clear the browser's " + joined([WORDS[kind] for kind in w.raw("only")]))
def clear_storage(ctx, params):
    """Forget the cookies, local storage and session storage sites kept in this run's browser."""
    chosen = set(params.only)
    ctx.browser.clear_storage(cookies="cookies" in chosen, local="local_storage" in chosen,
                              session="session_storage" in chosen)
    return {"cleared": sorted(chosen)}
