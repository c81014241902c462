"""The audit signing key: one Ed25519 key per machine user, kept outside every home folder.

The key lives in ``$BASTIDOR_AUDIT_KEY_FILE``, by default ``$XDG_CONFIG_HOME/bastidor/audit-signing.key``
(``~/.config/bastidor/audit-signing.key``). It is created on first use: the folder with mode 0700, the
file with mode 0600, PEM (PKCS#8, unencrypted). Several processes may start at once (worker bots, the
console, ``users`` commands): the key is written to a temporary file and linked into place, so exactly one
key wins and nobody ever reads a half-written one.

When no key can be read or created, `load_signing_key` raises `SigningUnavailable` with a plain reason;
the audit log then goes on unsigned and says why (it never stops a run for this).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

KEY_FILE_ENV = "BASTIDOR_AUDIT_KEY_FILE"
KEY_FILE_NAME = "audit-signing.key"

_cache: dict[Path, tuple[tuple[int, int, int], SigningKey]] = {}
_cache_lock = threading.Lock()


class SigningUnavailable(Exception):
    """No signing key could be read or created; the message says why, in a plain sentence."""


@dataclass(frozen=True)
class SigningKey:
    """The private signing key, where it is kept, its short id, and whether this call created it."""

    path: Path
    private_key: Any
    key_id: str
    created: bool = False

    @property
    def public_key(self) -> Any:
        """The matching Ed25519 public key."""
        return self.private_key.public_key()

    def sign(self, message: bytes) -> str:
        """The Ed25519 signature of `message`, base64-encoded."""
        return base64.b64encode(self.private_key.sign(message)).decode("ascii")


def signing_key_path() -> Path:
    """Where the signing key is kept: ``$BASTIDOR_AUDIT_KEY_FILE``, or the user's config folder."""
    explicit = os.environ.get(KEY_FILE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "bastidor" / KEY_FILE_NAME


def load_signing_key(path: Path | None = None, *, create: bool = True) -> SigningKey:
    """The signing key at `path` (default `signing_key_path`), created when missing and `create` is set.

    Raises `SigningUnavailable` when it cannot be read or created."""
    path = path or signing_key_path()
    created = False
    if not path.exists():
        if not create:
            raise SigningUnavailable(f"there is no audit signing key at {path}")
        created = _create_key_file(path)
    key = _load_cached(path)
    return replace(key, created=True) if created else key


def _load_cached(path: Path) -> SigningKey:
    try:
        status = path.stat()
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
    except OSError as error:
        raise SigningUnavailable(f"cannot read the audit signing key {path}: {_reason(error)}") from error
    with _cache_lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    key = _read_key_file(path)
    with _cache_lock:
        _cache[path] = (stamp, key)
    return key


def _read_key_file(path: Path) -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from bastidor.audit.public_keys import key_id_of

    try:
        private_key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as error:
        raise SigningUnavailable(f"cannot read the audit signing key {path}: {_reason(error)}") from error
    except (ValueError, TypeError) as error:
        raise SigningUnavailable(f"the audit signing key {path} is not an unencrypted PEM private key "
                                 f"({error}); move it away and a new one is made") from error
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SigningUnavailable(f"the audit signing key {path} is not an Ed25519 key; move it away and a new "
                                 "one is made")
    return SigningKey(path, private_key, key_id_of(private_key.public_key()))


def _create_key_file(path: Path) -> bool:
    """Write a new key to `path` unless another process got there first; True when this call made it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        _make_private_folder(path.parent)
        _write_private_file(temporary, pem)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    except OSError as error:
        raise SigningUnavailable(f"cannot create the audit signing key {path}: {_reason(error)}") from error
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _make_private_folder(folder: Path) -> None:
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)


def _write_private_file(path: Path, data: bytes) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
