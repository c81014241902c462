"""Item timing: put the current work item off until later, without failing it.

`postpone_item` ends the item's steps here. Under the service the item goes back to the work queue and
is not claimed again before its time; the attempt is not counted. In a run started by hand the item is
recorded as postponed, and a later run takes it again.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.executor.errors import ItemPostponed, StepError
from bastidor.flow.types import DurationMs, ExpressionText, Text


class PostponeItemParams(Params):
    """Put the current item off for a while (`for: 2h`) or until a moment (`until: "{{ ... }}"`)."""

    for_: DurationMs | None = Field(None, alias="for", description="How long to wait, e.g. 2h or 1d.")
    until: ExpressionText | None = Field(None, description="A date or time, e.g. \"{{ order.ship_date }}\".")
    reason: Text = Field("postponed by the flow", description="Why, shown in the item's history.")

    @model_validator(mode="after")
    def _one_moment(self):
        if (self.for_ is None) == (self.until is None):
            raise ValueError("give exactly one of `for` (e.g. for: 2h) or `until` "
                             "(e.g. until: \"{{ order.ship_date }}\")")
        return self


@action("postpone_item", params=PostponeItemParams, kind="control",
        describe=lambda w: "Put this item off " + w.one_of(**{"for": "for {:plain}", "until": "until {}"})
        + (f" (reason: {w['reason']})" if w.has("reason") else ""))
def postpone_item(ctx, params):
    """Stop the current item here and take it again later (not a failure, not an attempt)."""
    if ctx.scope.item is None:
        raise StepError("postpone_item only works inside the steps of a for_each_item, where each row is "
                        "a work item; move it into those steps.")
    now = dt.datetime.now(dt.timezone.utc)
    until = now + dt.timedelta(milliseconds=params.for_) if params.for_ is not None else \
        as_moment(ctx.render(params.until), params.until)
    raise ItemPostponed(until, str(ctx.render(params.reason)))


def as_moment(value, written: str, *, end_of_day: bool = False) -> dt.datetime:
    """A rendered date or time as an aware UTC datetime. Times without a zone are UTC. A date alone means
    the midnight (UTC) that starts it, or with `end_of_day` the one that ends it (a due date)."""
    if isinstance(value, str):
        try:
            text = value.strip()
            value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            raise StepError(f"{written} gave '{value}', which is not a date or time: write it as 2026-12-24 or "
                            "2026-12-24T09:00") from None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
    if isinstance(value, dt.date):
        midnight = dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
        return midnight + dt.timedelta(days=1) if end_of_day else midnight
    raise StepError(f"{written} gave a {type(value).__name__}, not a date or time: give a date such as "
                    "\"{{ today() + days(1) }}\" or text like 2026-12-24")
