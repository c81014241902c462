"""What the mail connector hands back: message summaries, whole messages, attachments, and its errors.

Re-exported by `mail_client`; import them from there."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


class MailError(Exception):
    """A mail server could not be reached, refused the sign-in, or refused or garbled an exchange.

    `str(error)` is one line naming the server (host:port) and the fix; never the password."""


class MessageTooLarge(MailError):
    """A message is bigger than the `max_bytes` the caller allows; it was not downloaded."""

    def __init__(self, message: str, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class MessageSummary:
    """One message found by `MailBox.search`: its UID and headers, without the body.

    `date` is the Date header as a timezone-aware datetime (None when absent or unreadable); `size` is the
    message's size on the server in bytes (RFC822.SIZE)."""

    uid: str
    subject: str
    sender: str
    date: dt.datetime | None
    size: int


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message: a safe file name (no folders, no control characters, never empty),
    the declared content type, its size in bytes, and its decoded bytes."""

    filename: str
    content_type: str
    size: int
    data: bytes


@dataclass(frozen=True)
class MailMessage:
    """A whole message, parsed with `email.policy.default`.

    `sender` is the From header as written (display name and address); `to` lists the To and Cc addresses;
    `text` is the plain-text body (or the HTML body's text when there is no plain part), `html` the HTML
    body or None. `attachments` are the parts with a file name or `Content-Disposition: attachment`, in
    order, names made unique within the message (`report.pdf`, `report (2).pdf`). `defects` counts what the
    parser had to repair in malformed MIME (0 for a well-formed message)."""

    uid: str
    message_id: str
    subject: str
    sender: str
    to: list[str]
    date: dt.datetime | None
    text: str
    html: str | None
    attachments: list[Attachment] = field(default_factory=list)
    defects: int = 0
