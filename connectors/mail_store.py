"""Keep a message's attachments as files: each written whole or not at all, with its size and SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_write
from .mail_parse import safe_file_name
from .mail_types import Attachment


@dataclass(frozen=True)
class SavedAttachment:
    """An attachment written to disk: its file name, where it is, its size in bytes and SHA-256 (hex)."""

    name: str
    path: Path
    size: int
    sha256: str


def message_folder(root: Path, folder: str, uid: str) -> Path:
    """Where the attachments of message `uid` of mailbox folder `folder` go under `root`: `root/uid` for
    INBOX, `root/<folder>-<uid>` for another folder, named from its whole path with / as _ (UIDs are only
    unique within one folder, and INBOX/Invoices and Archive/Invoices are two folders)."""
    name = str(uid) if folder.upper() == "INBOX" else f"{safe_file_name(folder.replace('/', '_'))}-{uid}"
    return root / name


def save_attachments(attachments: list[Attachment], folder: Path) -> list[SavedAttachment]:
    """Write each attachment into `folder` (created when missing) under its file name, which must be final:
    safe and unique within the message, as `parse_message` gives it (it is not changed here, so no two
    attachments can end up as one file; a name that is not raises ValueError).

    Each file is written atomically, so a reader never sees half a file; a file of the same name from an
    earlier read of the same message is replaced."""
    _check_final_names(attachments)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for attachment in attachments:
        path = folder / attachment.filename
        with atomic_write(path) as handle:
            handle.write(attachment.data)
        saved.append(SavedAttachment(attachment.filename, path, attachment.size, digest(attachment.data)))
    return saved


def _check_final_names(attachments: list[Attachment]) -> None:
    """Refuse a name with a folder in it, or one that repeats (ignoring case), before anything is written."""
    seen: set[str] = set()
    for attachment in attachments:
        name = attachment.filename
        if name in ("", ".", "..") or "/" in name or "\\" in name or name.lower() in seen:
            raise ValueError(f"attachment name {name!r} is not a safe, unique file name; use the attachments "
                             f"as parse_message gives them")
        seen.add(name.lower())


def digest(data: bytes) -> str:
    """The SHA-256 of `data`, as hex."""
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    """The SHA-256 of the file at `path`, as hex, read in pieces."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(piece)
    return hasher.hexdigest()
