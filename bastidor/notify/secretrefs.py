"""Secret references in a channel's text settings: `"Bearer {{ secrets.CHAT_TOKEN }}"`.

A webhook's URL and header values may name secrets the same way flows do; nothing else may be written
inside `{{ }}` there. The values are filled in only when a message is sent, and masked everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\{\{\s*secrets\.([A-Za-z][A-Za-z0-9_]*)\s*\}\}")
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")


def referenced_secrets(text: str) -> list[str]:
    """The secret names `text` refers to, in order, each once."""
    return list(dict.fromkeys(_REFERENCE.findall(text)))


def reference_problem(text: str) -> tuple[int, str] | None:
    """(offset, message) for the first `{{ }}` in `text` that is not a secret reference, else None."""
    for match in _PLACEHOLDER.finditer(text):
        if not _REFERENCE.fullmatch(match.group(0)):
            return match.start(), (f"only secrets can be filled in here, written {{{{ secrets.NAME }}}}; "
                                   f"got {match.group(0)}")
    stray = _stray_brace(text)
    if stray is not None:
        return stray, "unbalanced {{ or }}: write a secret as {{ secrets.NAME }}"
    return None


def _stray_brace(text: str) -> int | None:
    """The offset of the first `{{` or `}}` outside a complete `{{ }}`, or None."""
    spans = [match.span() for match in _PLACEHOLDER.finditer(text)]
    for match in re.finditer(r"\{\{|\}\}", text):
        if not any(start <= match.start() < end for start, end in spans):
            return match.start()
    return None


def fill_secrets(text: str, values: Mapping[str, str]) -> str:
    """`text` with every `{{ secrets.NAME }}` replaced by the secret's value from `values`."""
    return _REFERENCE.sub(lambda match: values[match.group(1)], text)
