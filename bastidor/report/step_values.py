"""What a step recorded, in a few words for a supervisor: the message a `log` step wrote, the value an
`extract_*` step read, what an `assert_*` step compared, the variables `set` computed, the rows read.

Values come from the audit log's step records, masked when they were written, so a secret (or anything
computed from one) is already ``***`` here.

    shown_value("extract_text", {"result": {"value": "1,234.50"}})   # '→ 1,234.50'
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

MAX_SHOWN = 160
"""A value longer than this many characters is cut, with ``…`` at the end (the audit log keeps it whole)."""

Details = Mapping[str, Any]


def as_text(value: Any) -> str:
    """A recorded value as a person reads it: text as it is, numbers and dates as written, lists and
    records as compact JSON; long values cut to `MAX_SHOWN` characters."""
    if value is None:
        text = "(empty)"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"


def logged_message(details: Details) -> str | None:
    """The rendered message of a `log` step, or None when it was not recorded."""
    result = details.get("result") or {}
    message = result.get("message") if isinstance(result, Mapping) else None
    return as_text(message) if message is not None else None


def _read(details: Details) -> str | None:
    result = details.get("result") or {}
    if not isinstance(result, Mapping) or "value" not in result:
        return _rows(details)
    value = result["value"]
    if not isinstance(value, list):
        return "→ " + as_text(value)
    count = result.get("count", len(value))
    if any(isinstance(entry, (Mapping, list)) for entry in value):
        return f"→ {count} row{'s' if count != 1 else ''}"
    return "→ " + as_text(", ".join(as_text(entry) for entry in value)) + f" ({count})"


def _rows(details: Details) -> str | None:
    result = details.get("result") or {}
    rows = result.get("rows") if isinstance(result, Mapping) else None
    return f"{rows} row{'s' if rows != 1 else ''}" if rows is not None else None


def _set(details: Details) -> str | None:
    result = details.get("result") or {}
    values = result.get("values") if isinstance(result, Mapping) else None
    if not isinstance(values, Mapping) or not values:
        return None
    return as_text("; ".join(f"{name} = {as_text(value)}" for name, value in values.items()))


def _checked(details: Details) -> str | None:
    used = details.get("used") or {}
    for key in ("equals", "contains", "matches"):
        if key in used:
            return f"expected: {key} {as_text(used[key])}"
    return None


def _entered(key: str, verb: str) -> Callable[[Details], str | None]:
    def entered(details: Details) -> str | None:
        used = details.get("used") or {}
        return f"{verb}: {as_text(used[key])}" if key in used else None
    return entered


def _logged(details: Details) -> str | None:
    message = logged_message(details)
    return f"logged: {message}" if message is not None else None


def _branch(details: Details) -> str | None:
    result = details.get("result") or {}
    branch = result.get("branch") if isinstance(result, Mapping) else None
    return f"took {branch}" if branch else None


_SHOWN: dict[str, Callable[[Details], str | None]] = {
    "log": _logged, "set": _set, "if": _branch,
    "extract_text": _read, "extract_value": _read, "extract_attribute": _read, "extract_table": _read,
    "last_dialog": _read, "read_excel": _rows, "read_csv": _rows,
    "assert_text": _checked, "assert_url": _checked,
    "fill": _entered("value", "entered"), "type": _entered("keys", "typed"), "select": _entered("option", "chose"),
}


AUDITED_ACTIONS = frozenset({"log", "set", "extract_text", "extract_value", "extract_attribute", "extract_table",
                             "last_dialog", "read_excel", "read_csv", "assert_text", "assert_url"})
"""Steps whose values a report lists for an auditor: what was logged, read, computed and compared (values
entered into pages show beside their steps)."""


def shown_value(action: str | None, details: Details | None) -> str | None:
    """What the step recorded, in a few words, or None when it recorded nothing worth showing."""
    show = _SHOWN.get(action or "")
    return show(details) if show is not None and details else None


def is_plain_log_title(name: str | None, details: Details | None) -> bool:
    """True when a `log` step has no name of its own: its title is just ``log`` and its template."""
    written = (details or {}).get("written") or {}
    template = written.get("message") if isinstance(written, Mapping) else None
    return not name or name == "log" or (template is not None and name == f"log {template}")
