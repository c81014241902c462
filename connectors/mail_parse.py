"""Turn a message's raw bytes into a `MailMessage`: headers decoded, bodies as text, attachments with safe names.

Parsing uses `email.policy.default`, which repairs what it can in malformed MIME and records a defect instead
of failing; a header or body that still cannot be decoded is read with replacement characters. Nothing here
raises on a bad message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html as html_lib
import mimetypes
import re
import unicodedata
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import PurePosixPath

from .mail_types import Attachment, MailMessage

MAX_NAME_CHARS = 120
"""The longest attachment file name kept (the extension is kept when a name is cut)."""

_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)),
                     *(f"LPT{n}" for n in range(1, 10))}


def parse_message(uid: str, raw: bytes) -> MailMessage:
    """The message `raw` (as fetched with UID `uid`) parsed into text, html and attachments."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    defects = _collect_parts(message, texts, htmls, attachments)
    text = texts[0] if texts else (_html_to_text(htmls[0]) if htmls else "")
    return MailMessage(
        uid=uid, message_id=header_text(message, "Message-ID"), subject=header_text(message, "Subject"),
        sender=header_text(message, "From"), to=addresses(message, "To") + addresses(message, "Cc"),
        date=header_date(message), text=text, html=htmls[0] if htmls else None,
        attachments=_unique_names(attachments), defects=defects)


def parse_headers(raw: bytes) -> Message:
    """Just the headers of a message (as fetched with BODY.PEEK[HEADER.FIELDS (...)])."""
    return BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)


def header_text(message: Message, name: str) -> str:
    """Header `name` decoded to one line of text ("" when absent); encoded words that cannot be decoded
    are kept as written."""
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot parse at all: keep it as written
        value = next((raw for key, raw in message.raw_items() if key.lower() == name.lower()), "")
    return " ".join(str(value or "").split())


def addresses(message: Message, name: str) -> list[str]:
    """The e-mail addresses in header `name` (To, Cc), without display names."""
    try:
        values = [str(value) for value in message.get_all(name, [])]
    except Exception:
        return []
    return [address for _, address in email.utils.getaddresses(values) if address]


def header_date(message: Message) -> dt.datetime | None:
    """The Date header as a datetime (None when absent or unreadable)."""
    try:
        value = message.get("Date")
        stamp = getattr(value, "datetime", None)
        return stamp if stamp is not None else (email.utils.parsedate_to_datetime(str(value)) if value else None)
    except Exception:
        return None


def safe_file_name(name: str | None, content_type: str = "application/octet-stream") -> str:
    """`name` as a file name safe to write anywhere: no folders, no control or reserved characters, not hidden,
    at most MAX_NAME_CHARS long; an empty one becomes `attachment` plus an extension for `content_type`."""
    name = unicodedata.normalize("NFC", name or "")
    name = PurePosixPath(name.replace("\\", "/")).name
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip().strip(".").strip()
    if not name or name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = ("attachment" + (mimetypes.guess_extension(content_type) or ".bin")) if not name else f"_{name}"
    if len(name) > MAX_NAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        extension = extension[:16] if dot and stem else ""
        name = name[:MAX_NAME_CHARS - len(extension) - 1].rstrip() + ("." + extension if extension else "")
    return name


def _collect_parts(part: Message, texts: list[str], htmls: list[str], attachments: list[Attachment]) -> int:
    """Walk `part`: body texts into `texts`/`htmls`, files into `attachments`; returns the defects seen."""
    defects = len(getattr(part, "defects", []))
    content_type = part.get_content_type()
    if _is_attachment(part):
        attachments.append(_attachment(part))
    elif part.is_multipart() and content_type != "message/rfc822":
        for child in part.get_payload() or []:
            if isinstance(child, Message):
                defects += _collect_parts(child, texts, htmls, attachments)
    elif content_type == "text/plain":
        texts.append(_part_text(part))
    elif content_type == "text/html":
        htmls.append(_part_text(part))
    elif content_type == "message/rfc822" or part.get_content_maintype() not in ("text", "multipart"):
        attachments.append(_attachment(part))
    return defects


def _is_attachment(part: Message) -> bool:
    disposition = part.get_content_disposition()
    if disposition == "attachment":
        return True
    return _filename(part) is not None and part.get_content_maintype() != "multipart"


def _filename(part: Message) -> str | None:
    try:
        return part.get_filename()
    except Exception:
        return part.get_param("name")


def _attachment(part: Message) -> Attachment:
    content_type = part.get_content_type()
    if content_type == "message/rfc822" and part.is_multipart():
        inner = part.get_payload(0)
        data = inner.as_bytes(policy=policy.SMTP) if isinstance(inner, EmailMessage) else bytes(inner)
        name = _filename(part) or (header_text(inner, "Subject") or "message") + ".eml"
    else:
        data = part.get_payload(decode=True) or b""
        name = _filename(part)
    return Attachment(filename=safe_file_name(name, content_type), content_type=content_type, size=len(data),
                      data=data)


def _part_text(part: Message) -> str:
    try:
        content = part.get_content()
        return content if isinstance(content, str) else content.decode("utf-8", "replace")
    except Exception:  # an unknown charset or broken transfer encoding
        data = part.get_payload(decode=True) or b""
        return data.decode("utf-8", "replace")


def _html_to_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</h\d>|</li>", "\n", text)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", text))
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()


def _unique_names(attachments: list[Attachment]) -> list[Attachment]:
    """The attachments with names unique within the message (ignoring case): a repeated name gets " (2)",
    " (3)"... before its extension, cut so that it stays within MAX_NAME_CHARS. This is the last step of
    naming, so the names are final: `safe_file_name` leaves them as they are."""
    seen: set[str] = set()
    unique = []
    for item in attachments:
        name, count = item.filename, 1
        while name.lower() in seen:
            count += 1
            name = _numbered(item.filename, count)
        seen.add(name.lower())
        unique.append(item if name == item.filename else Attachment(name, item.content_type, item.size, item.data))
    return unique


def _numbered(name: str, count: int) -> str:
    """`name` with " (count)" before its extension, its stem cut so the whole stays within MAX_NAME_CHARS."""
    stem, dot, extension = name.rpartition(".")
    if not (dot and stem) or len(extension) > 16:
        stem, extension = name, ""
    suffix = f" ({count})" + (f".{extension}" if extension else "")
    return stem[:MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
