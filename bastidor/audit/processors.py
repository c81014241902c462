"""The structlog processors that turn an audit event into one hash-chained JSON line.

Each processor is a small ``(logger, method_name, event_dict) -> event_dict`` callable that can be
tested on its own. `AuditLog` chains them in this order:

1. `BindRunContext`    - adds ``run_id``, ``flow`` and ``flow_sha256``;
2. `AddSequence`       - adds ``seq`` (1, 2, 3 ... without gaps);
3. `add_utc_timestamp` - adds ``ts`` (UTC, ISO-8601 with microseconds and ``Z``);
4. `normalize_record`  - plain JSON types (see `bastidor.audit.canonical`) and the fixed key order;
5. `MaskSecrets`       - secret values and sensitive keys become ``***``, before anything is hashed;
6. `ChainHash`         - adds ``prev_hash`` and ``hash``;
7. `render_json_line`  - the final JSON text of the record (one line, no newline).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from bastidor.audit.canonical import ZERO_HASH, record_hash, to_jsonable
from bastidor.audit.masking import SecretMasker

EventDict = dict[str, Any]

HEAD_KEYS = ("run_id", "seq", "ts", "event", "flow", "flow_sha256")
"""Keys every record starts with, in this order. Event fields follow, then ``prev_hash`` and ``hash``."""

CHAIN_KEYS = ("prev_hash", "hash")
"""Keys the hash chain adds at the end of every record."""

RESERVED_KEYS = frozenset(HEAD_KEYS + CHAIN_KEYS) - {"event"}
"""Keys an event may not set itself: the log owns them."""


class BindRunContext:
    """Adds the run's ``run_id``, ``flow`` and ``flow_sha256`` to every record."""

    def __init__(self, run_id: str, flow: str, flow_sha256: str) -> None:
        self.context = {"run_id": run_id, "flow": flow, "flow_sha256": flow_sha256}

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        """Return `event_dict` with the run context set."""
        event_dict.update(self.context)
        return event_dict


class AddSequence:
    """Numbers records 1, 2, 3 ... (or continues after `last_seq` when a log is reopened)."""

    def __init__(self, last_seq: int = 0) -> None:
        self.last_seq = last_seq

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        """Return `event_dict` with the next ``seq``."""
        self.last_seq += 1
        event_dict["seq"] = self.last_seq
        return event_dict


def utc_now_iso() -> str:
    """Return the current UTC time as ISO-8601 with microseconds and a ``Z`` suffix."""
    now = datetime.now(timezone.utc)
    return now.isoformat(timespec="microseconds").replace("+00:00", "Z")


def add_utc_timestamp(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Return `event_dict` with ``ts``, the UTC time of the event."""
    event_dict["ts"] = utc_now_iso()
    return event_dict


def normalize_record(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Return the record as plain JSON types, head keys first and event fields after them."""
    plain = to_jsonable(event_dict)
    head = {key: plain.pop(key) for key in HEAD_KEYS if key in plain}
    for key in CHAIN_KEYS:
        plain.pop(key, None)
    return head | plain


class MaskSecrets:
    """Masks secret values and sensitive keys with a `SecretMasker`, so the file never holds a secret."""

    def __init__(self, masker: SecretMasker) -> None:
        self.masker = masker

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        """Return a masked copy of `event_dict`."""
        return self.masker.mask(event_dict)


class ChainHash:
    """Links each record to the previous one: sets ``prev_hash``, then ``hash`` over everything else."""

    def __init__(self, last_hash: str = ZERO_HASH) -> None:
        self.last_hash = last_hash

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        """Return `event_dict` with ``prev_hash`` and its own ``hash``."""
        event_dict.pop("hash", None)
        event_dict["prev_hash"] = self.last_hash
        event_dict["hash"] = record_hash(event_dict)
        self.last_hash = event_dict["hash"]
        return event_dict


def render_json_line(logger: Any, method_name: str, event_dict: EventDict) -> str:
    """Return the record as one line of compact JSON, in record order (the hash does not depend on it)."""
    return json.dumps(event_dict, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
