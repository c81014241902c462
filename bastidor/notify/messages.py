"""The message sent for an event: a short subject, a plain-text body and the webhook's JSON, masked.

    Subject: [Bastidor] Business exception: item ORD-0007 in Order entry

    The bot stopped this item on a business rule and will not retry it: ...

      Item:    ORD-0007
      Reason:  Out of stock: Doohickey (available: 0)
      ...

    Where to look:
      Report: .bastidor/runs/20261127-123715-b9297c/report.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bastidor.audit import SecretMasker
from bastidor.notify.events import Event, as_utc

SUBJECT_PREFIX = "[Bastidor] "
MAX_SUBJECT = 180
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Message:
    """What every channel sends for one event: email subject and body, webhook JSON."""

    event: str
    subject: str
    body: str
    payload: dict[str, Any]


def compose(event: Event, masker: SecretMasker) -> Message:
    """The message for `event`, with every secret value `masker` knows replaced by ***."""
    title = _one_line(masker.mask_text(event.title()))  # masked first: a secret may hold line breaks
    body = masker.mask_text(_body(event))
    payload = {"event": event.kind, "summary": title, **masker.mask(event.fields()),
               "occurred_at": as_utc(event.occurred_at).isoformat(), "text": body}
    return Message(event.kind, (SUBJECT_PREFIX + title)[:MAX_SUBJECT], body, payload)


def _body(event: Event) -> str:
    facts = event.facts()
    width = max((len(label) for label, _ in facts), default=0) + 2
    lines = [event.explanation(), ""]
    lines += [f"  {(label + ':').ljust(width)}{_indented(value, width + 2)}" for label, value in facts]
    more = event.more_lines()
    if more:
        lines += [""] + more
    places = event.where_to_look()
    if places:
        lines += ["", "Where to look:"] + [f"  {place}" for place in places]
    lines += ["", "-- ", "Sent by Bastidor. Rules for these messages are in the notifications file."]
    return "\n".join(lines) + "\n"


def _indented(value: str, width: int) -> str:
    """A multi-line value with its next lines aligned under the first."""
    return str(value).replace("\n", "\n" + " " * width)


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
