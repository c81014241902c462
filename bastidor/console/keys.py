"""The console's session signing key: made once per home folder, kept in home/console.key (mode 600)."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

KEY_FILE = "console.key"


class ConsoleKeyError(RuntimeError):
    """The key file cannot be read or made safe; the message says how to fix it."""


def load_or_create_secret_key(home: Path) -> str:
    """The session key in ``home/console.key``, created (readable by this user only) when missing."""
    path = Path(home) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_existing(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        key = secrets.token_urlsafe(48)
        stream.write(key + "\n")
    return key


def _read_existing(path: Path) -> str:
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConsoleKeyError(f"cannot read the console key {path} ({error}): delete it and start the console "
                              "again to make a new one (everyone will have to sign in again)") from error
    if len(key) < 32:
        raise ConsoleKeyError(f"the console key {path} is too short: delete it and start the console again to "
                              "make a new one (everyone will have to sign in again)")
    return key
