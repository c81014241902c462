"""Anchors: the latest seal of every log, kept outside the home, so cutting a log's end is noticed.

Each log has one small JSON file in ``<signing key folder>/anchors/``, named after its run id and the hash
of its first record, holding its latest `bastidor.audit.seals.Seal` (and, for people, where the log was
last written). A checkpoint replaces it; so does closing a journal, which seals its last record. Writers
are separate processes (worker bots, the console, ``users`` commands), so a replacement is made under a
lock on the folder, is atomic (a temporary file renamed over the old one), and never goes back to an
earlier record: an anchor only moves forward. The log is fsynced before its anchor is replaced, so an
anchor never claims more than the disk holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from bastidor.audit.keys import signing_key_path
from bastidor.audit.seals import Seal, seal_from_dict

ANCHOR_FORMAT = "bastidor-audit-anchor/1"
ANCHORS_FOLDER = "anchors"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class AnchorUnreadable(ValueError):
    """An anchor file exists but is not an anchor (damaged, or written by something else)."""


def anchors_folder(key_path: Path | None = None) -> Path:
    """Where anchors are kept: the ``anchors`` folder beside the signing key."""
    return (key_path or signing_key_path()).parent / ANCHORS_FOLDER


def anchor_file_name(run_id: str, first_hash: str) -> str:
    """The file name of the anchor of the log (`run_id`, `first_hash`)."""
    readable = _UNSAFE.sub("_", run_id)[:60].strip("._") or "log"
    return f"{readable}.{first_hash[:32]}.json"


class AnchorStore:
    """The anchors folder: save a log's latest seal, or read it back."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._folder_made = False

    def path_for(self, run_id: str, first_hash: str) -> Path:
        """The anchor file of the log (`run_id`, `first_hash`)."""
        return self.folder / anchor_file_name(run_id, first_hash)

    def save(self, seal: Seal, log_path: Path) -> None:
        """Make `seal` the log's anchor unless the anchor already seals a later record. Raises OSError."""
        if not self._folder_made:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._folder_made = True
        target = self.path_for(seal.run_id, seal.first_hash)
        with self._locked():
            current = self._load_quietly(target)
            if current is not None and current.run_id == seal.run_id and current.seq > seal.seq:
                return
            document = {"format": ANCHOR_FORMAT, **seal.to_dict(), "log_path": str(log_path)}
            _replace_atomically(target, json.dumps(document, indent=1, sort_keys=True).encode("utf-8"))

    def writable_problem(self) -> str | None:
        """Why anchors cannot be written here (a plain phrase), or None when they can."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            _replace_atomically(self.folder / ".write-check", b"")
        except OSError as error:
            return f"the anchors folder {self.folder} cannot be written ({error.strerror or error})"
        return None

    def load(self, run_id: str, first_hash: str) -> Seal | None:
        """The anchored seal of the log, None when it has no anchor. Raises `AnchorUnreadable` when the file is
        not an anchor, OSError when it cannot be read."""
        target = self.path_for(run_id, first_hash)
        try:
            data = json.loads(target.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            return None
        except ValueError as error:
            raise AnchorUnreadable(f"the anchor {target} is not JSON ({error})") from error
        seal = seal_from_dict(data) if isinstance(data, dict) and data.get("format") == ANCHOR_FORMAT else None
        if seal is None:
            raise AnchorUnreadable(f"the anchor {target} is not a Bastidor audit anchor")
        if (seal.run_id, seal.first_hash) != (run_id, first_hash):
            raise AnchorUnreadable(f"the anchor {target} names another log (run {seal.run_id})")
        return seal

    def _load_quietly(self, target: Path) -> Seal | None:
        try:
            data = json.loads(target.read_bytes())
        except (OSError, ValueError):
            return None
        return seal_from_dict(data) if isinstance(data, dict) else None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.folder / ".lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def _replace_atomically(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)  # not fsynced: after a power cut an anchor may lag, never run ahead
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
