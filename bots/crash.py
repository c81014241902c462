"""Telling a crash (the browser is gone: infrastructure's fault) from a failure (the flow's fault)."""

from __future__ import annotations

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

try:
    from playwright._impl._errors import TargetClosedError
except ImportError:  # older or reorganised Playwright: fall back to the message checks below
    TargetClosedError = None  # type: ignore[assignment,misc]

CRASH_MESSAGES = (
    "target page, context or browser has been closed",
    "browser has been closed",
    "browser has disconnected",
    "browser closed",
    "target closed",
    "target crashed",
    "page crashed",
    "connection closed",
    "connection lost",
)


def is_crash(exc: BaseException) -> bool:
    """True when `exc` (or an error it was raised from) means the browser, context or page is gone.

    Ordinary timeouts, assertion errors and business errors are failures, not crashes.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_direct_crash(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_direct_crash(exc: BaseException) -> bool:
    if TargetClosedError is not None and isinstance(exc, TargetClosedError):
        return True
    if not isinstance(exc, PlaywrightError) or isinstance(exc, PlaywrightTimeoutError):
        return False
    message = str(exc).lower()
    return any(marker in message for marker in CRASH_MESSAGES)
