"""Seals: signed statements that an audit log reached a given record.

A seal says "the log of run R whose first record has hash F held record ``seq`` S with hash H at time T".
What is signed (Ed25519) is the canonical JSON (`bastidor.audit.canonical`) of::

    {"format": "bastidor-audit-seal/1", "run_id": R, "first_hash": F, "seq": S, "hash": H, "at": T}

The run id and first record's hash name the log wherever its file is moved; because each record holds the
hash of the one before it, a seal on record S vouches for every record up to S. Seals travel in two
places: inside the log as ``audit.checkpoint`` records (which seal the record just before them), and
outside the home as anchors (`bastidor.audit.anchors`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bastidor.audit.canonical import canonical_json
from bastidor.audit.keys import SigningKey

SEAL_FORMAT = "bastidor-audit-seal/1"
CHECKPOINT_FIELDS = ("log_first_hash", "signed_at", "key_id", "signature")
"""The fields an ``audit.checkpoint`` record carries besides those every record has."""


@dataclass(frozen=True)
class Seal:
    """A signed statement that the log (`run_id`, `first_hash`) held record `seq` with hash `hash`."""

    run_id: str
    first_hash: str
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str

    def statement(self) -> bytes:
        """The exact bytes that are signed."""
        return canonical_json({"format": SEAL_FORMAT, "run_id": self.run_id, "first_hash": self.first_hash,
                               "seq": self.seq, "hash": self.hash, "at": self.at}).encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        """The seal as plain JSON data."""
        return asdict(self)


def make_seal(key: SigningKey, run_id: str, first_hash: str, seq: int, record_hash: str, at: str) -> Seal:
    """Sign that the log (`run_id`, `first_hash`) held record `seq` with hash `record_hash` at time `at`."""
    unsigned = Seal(run_id, first_hash, seq, record_hash, at, key.key_id, "")
    return Seal(run_id, first_hash, seq, record_hash, at, key.key_id, key.sign(unsigned.statement()))


def checkpoint_fields(seal: Seal) -> dict[str, str]:
    """The fields of the ``audit.checkpoint`` record that carries `seal` (its seq and hash are implied)."""
    return {"log_first_hash": seal.first_hash, "signed_at": seal.at, "key_id": seal.key_id,
            "signature": seal.signature}


def seal_of_checkpoint(record: Mapping[str, Any]) -> Seal | None:
    """The seal an ``audit.checkpoint`` record carries (on the record before it), or None if it lacks one."""
    values = [record.get(name) for name in CHECKPOINT_FIELDS]
    if not all(isinstance(value, str) for value in values) or not isinstance(record.get("seq"), int):
        return None
    first_hash, at, key_id, signature = values
    return Seal(str(record["run_id"]), first_hash, record["seq"] - 1, str(record["prev_hash"]), at, key_id,
                signature)


def seal_from_dict(data: Mapping[str, Any]) -> Seal | None:
    """A seal read back from `Seal.to_dict` data, or None when a field is missing or of the wrong type."""
    try:
        seal = Seal(**{name: data[name] for name in Seal.__dataclass_fields__})
    except (KeyError, TypeError):
        return None
    texts_ok = all(isinstance(getattr(seal, name), str) for name in ("run_id", "first_hash", "hash", "at",
                                                                      "key_id", "signature"))
    return seal if texts_ok and isinstance(seal.seq, int) and not isinstance(seal.seq, bool) else None


def seal_problem(seal: Seal, public_keys: Mapping[str, Any]) -> str | None:
    """Why `seal` does not hold (a plain phrase), or None when its signature is good."""
    from cryptography.exceptions import InvalidSignature

    key = public_keys.get(seal.key_id)
    if key is None:
        known = ", ".join(sorted(public_keys)) or "none"
        return f"it was signed with key {seal.key_id}, which is not a key you trust (trusted: {known})"
    try:
        key.verify(base64.b64decode(seal.signature, validate=True), seal.statement())
    except (InvalidSignature, binascii.Error, ValueError):
        return "its signature does not match what it says"
    return None
