"""Browser steps that check the page is as the flow expects; a mismatch fails the step."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from bastidor.actions.base import ElementParams, Params, Waits, element, shown_text, timeout_of
from bastidor.actions.registry import action
from bastidor.executor.errors import AssertionFailed
from bastidor.expr import to_text
from bastidor.flow.types import Text


@action("assert_visible", params=ElementParams, kind="browser", describe="Check that {target} is visible")
def assert_visible(ctx, params):
    """Fail unless the element (any of its matches) becomes visible within the timeout."""
    try:
        element(ctx, params).filter(visible=True).first.wait_for(state="visible", timeout=timeout_of(ctx, params))
    except Exception as exc:
        if "Timeout" not in type(exc).__name__:
            raise
        raise AssertionFailed(f"expected {params.describe()} to be visible, but it is not") from None


class Expectation(Params):
    """What a text must be: exactly `equals`, or `contains` a part, or `matches` a pattern."""

    equals: Text | None = None
    contains: Text | None = None
    matches: Text | None = Field(None, description="A regular expression.")

    @model_validator(mode="after")
    def _one_expectation(self):
        given = [k for k in ("equals", "contains", "matches") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, contains or matches")
        return self


def mismatch(actual: str, expected: Expectation, what: str) -> str | None:
    """Why `actual` does not meet the expectation, or None when it does."""
    if expected.equals is not None and actual != to_text(expected.equals):
        return f"expected {what} to be '{to_text(expected.equals)}', found '{actual}'"
    if expected.contains is not None and to_text(expected.contains) not in actual:
        return f"expected {what} to contain '{to_text(expected.contains)}', found '{actual}'"
    if expected.matches is not None and not re.search(to_text(expected.matches), actual):
        return f"expected {what} to match '{to_text(expected.matches)}', found '{actual}'"
    return None


def check_text(actual: str, expected: Expectation, what: str) -> None:
    """Raise AssertionFailed when `actual` does not meet the expectation."""
    problem = mismatch(actual, expected, what)
    if problem:
        raise AssertionFailed(problem)


class AssertTextParams(ElementParams, Expectation):
    """Check an element's text."""


@action("assert_text", params=AssertTextParams, kind="browser",
        describe=lambda w: f"Check that {w.target} " + w.one_of(equals="shows {}", contains="contains {}",
                                                               matches="matches the pattern {}"))
def assert_text(ctx, params):
    """Fail unless the element's text (without icon-font glyphs) equals, contains or matches what is expected."""
    actual = shown_text(element(ctx, params).inner_text(timeout=timeout_of(ctx, params)))
    check_text(actual, params, f"the text of {params.describe()}")


class AssertUrlParams(Expectation, Waits):
    """Check the page's address."""


@action("assert_url", params=AssertUrlParams, kind="browser",
        describe=lambda w: "Check that the page address " + w.one_of(equals="is {}", contains="contains {}",
                                                                    matches="matches the pattern {}"))
def assert_url(ctx, params):
    """Fail unless the page's address equals, contains or matches what is expected (waiting up to the timeout)."""
    if params.timeout:
        try:
            ctx.page.wait_for_url(lambda url: mismatch(url, params, "") is None, timeout=params.timeout)
        except Exception as exc:
            if "Timeout" not in type(exc).__name__:
                raise
    check_text(ctx.page.url, params, "the page address")
