"""Public keys for checking audit signatures: their printed form, their short id, and where verify finds them.

A public key is printed as ``ed25519:`` followed by the base64 of its 32 raw bytes; its key id is the
first 16 hex digits of the SHA-256 of those bytes. `parse_public_key` also takes the base64 alone, a PEM
public key, or the path of a file holding any of these. `verification_keys` picks the keys `audit verify`
trusts: the ones given (``--public-key``), else ``$BASTIDOR_AUDIT_PUBLIC_KEY`` (several may be separated by
commas or spaces), else the public half of the local signing key (never created by verifying).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bastidor.audit.keys import SigningUnavailable, load_signing_key

PUBLIC_KEY_ENV = "BASTIDOR_AUDIT_PUBLIC_KEY"
PUBLIC_KEY_PREFIX = "ed25519:"
KEY_ID_LENGTH = 16


def _raw_bytes(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public_key: Any) -> str:
    """The short id of `public_key`: 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw_bytes(public_key)).hexdigest()[:KEY_ID_LENGTH]


def public_key_text(public_key: Any) -> str:
    """`public_key` as one line of text that `parse_public_key` (and ``--public-key``) accept."""
    return PUBLIC_KEY_PREFIX + base64.b64encode(_raw_bytes(public_key)).decode("ascii")


def parse_public_key(text: str) -> Any:
    """The Ed25519 public key written as `text` (see the module); raises ValueError saying what is wrong."""
    text = text.strip()
    if text and "\n" not in text and Path(text).expanduser().is_file():
        text = Path(text).expanduser().read_text(encoding="utf-8", errors="replace").strip()
    if text.startswith("-----BEGIN"):
        return _from_pem(text)
    return _from_base64(text.removeprefix(PUBLIC_KEY_PREFIX))


def _from_pem(text: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(text.encode("ascii", errors="replace"))
    except ValueError as error:
        raise ValueError(f"not a PEM public key ({error})") from error
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the PEM public key is not an Ed25519 key")
    return key


def _from_base64(text: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"'{text[:60]}' is not a public key: expected ed25519: and base64 text, as "
                         "`runner.py audit key` prints it") from error
    if len(raw) != 32:
        raise ValueError(f"'{text[:60]}' is not an Ed25519 public key: it holds {len(raw)} bytes, not 32")
    return Ed25519PublicKey.from_public_bytes(raw)


def verification_keys(given: Iterable[str] = ()) -> dict[str, Any]:
    """The public keys to check signatures with, by key id (see the module for where they come from).

    Raises ValueError when a given key cannot be read; an empty result means no key was found."""
    texts = [text for text in given if text.strip()]
    if not texts and os.environ.get(PUBLIC_KEY_ENV, "").strip():
        texts = [part for part in re.split(r"[,\s]+", os.environ[PUBLIC_KEY_ENV]) if part]
    if texts:
        keys = [parse_public_key(text) for text in texts]
        return {key_id_of(key): key for key in keys}
    try:
        local = load_signing_key(create=False)
    except SigningUnavailable:
        return {}
    return {local.key_id: local.public_key}
