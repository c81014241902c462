"""Filling a whole form in one round trip into the page: the engine of the `fill_form` step.

A per-field `fill` costs a few round trips between the bot and the browser for every field (find the
element, wait until it is ready, focus it, type). `fill_form` sends the whole form at once to a script in
the page (`form_fill.js`) that finds each field the way `bots.locate` does (a label tied to its field or
simply standing before it, a placeholder, a test id, CSS or XPath), waits until it is visible, enabled and
editable, and fills it as Playwright's `fill` and `select_option` would, with the same events. When a
field is not ready yet, the script is polled on each animation frame, still in the page, until it is or the
step's timeout passes; the error then names the field that held it up and why.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bastidor.flow.diagnostics import did_you_mean

from .locate import DEFAULT_TEST_ID_ATTRIBUTE, selector_for_test_id, untied_label_xpath

IN_PAGE = ("label", "placeholder", "test_id", "css", "xpath")
"""The target strategies the in-page script can follow."""


@dataclass(frozen=True)
class FormField:
    """One field to fill: how it is found (`how`, `value`, `exact`, `nth`), the text to put in, and how
    it is named in errors and the audit record (`describe`, e.g. `label "Quantity"`)."""

    how: str
    value: str
    text: str
    describe: str
    exact: bool = True
    nth: int | None = None
    untied_xpath: str = ""
    secret: bool = False

    @classmethod
    def make(cls, how: str, value: str, text: str, describe: str, *, exact: bool = True, nth: int | None = None,
             test_id_attribute: str = DEFAULT_TEST_ID_ATTRIBUTE, secret: bool = False) -> "FormField":
        """A field found by `how` (one of IN_PAGE) = `value`, to receive `text` (a `secret` is never shown in
        an error)."""
        if how not in IN_PAGE:
            raise ValueError(f"fill_form cannot find a field by {how}")
        if how == "test_id":
            how, value = "css", selector_for_test_id(value, test_id_attribute)
        untied = untied_label_xpath(value, exact=exact) if how == "label" else ""
        return cls(how, value, text, describe, exact, nth, untied, secret)


class FormFillError(Exception):
    """A field of the form was not found, never became ready, or would not take its value."""


def fill_form(page: Page, fields: list[FormField], timeout_ms: float) -> list[dict[str, Any]]:
    """Fill `fields` in order; returns what was filled, one record per field (its name, the kind of element,
    how many elements matched). Raises FormFillError naming the field that was missing or not ready after
    `timeout_ms`, and the fields filled before it."""
    job = {"token": uuid.uuid4().hex, "fields": [asdict(field) for field in fields]}
    try:
        outcome = page.evaluate(_script(), job)
    except PlaywrightError as error:
        if "context was destroyed" not in str(error):
            raise
        outcome = None  # the page was still navigating: wait for the form in the page that loads
    if outcome is None:
        try:
            outcome = page.wait_for_function(_script(), arg=job, polling="raf", timeout=timeout_ms).json_value()
        except PlaywrightTimeoutError:
            outcome = {"failed": _progress(page, job["token"]), "timed_out": True}
    if "failed" in outcome:
        raise FormFillError(_explain(fields, outcome, timeout_ms))
    return outcome["filled"]


@lru_cache(maxsize=1)
def _script() -> str:
    return Path(__file__).with_name("form_fill.js").read_text(encoding="utf-8")


_READ_PROGRESS = """(token) => {
  const progress = window.__bastidorFillForm;
  if (!progress || progress.token !== token) return {index: 0, reason: "the page changed while it was filled"};
  delete window.__bastidorFillForm;
  return {...progress.waiting, filled: progress.filled};
}"""


def _progress(page: Page, token: str) -> dict[str, Any]:
    try:
        return page.evaluate(_READ_PROGRESS, token)
    except Exception:  # the page went away; say so rather than hide the timeout
        return {"index": 0, "reason": "the page changed while it was filled"}


def _explain(fields: list[FormField], outcome: dict[str, Any], timeout_ms: float) -> str:
    failed = outcome["failed"]
    field = fields[failed.get("index", 0)]
    filled = outcome.get("filled") or failed.get("filled") or []
    reason = failed.get("fatal") or failed.get("reason") or "it was not ready"
    if reason == "not found":
        message = f"field {field.describe} was not found"
        labels = failed.get("labels") or []
        if field.how == "label" and labels:
            message += did_you_mean(field.value, labels).replace("; valid choices:", "; labels on the page:")
    else:
        message = f"field {field.describe} could not be filled: {reason}"
        if failed.get("options"):
            message += " (its options: " + ", ".join(f'"{o}"' for o in failed["options"]) + ")"
    if outcome.get("timed_out"):
        message += f" (waited {timeout_ms / 1000:g} s)"
    done = ", ".join(entry["field"] for entry in filled)
    return message + (f"; filled before it: {done}" if done else "; no field was filled")
