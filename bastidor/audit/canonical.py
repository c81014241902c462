"""Canonical JSON for audit records: one byte-exact form per value, so a hash can be recomputed.

The audit log hashes each record as ``sha256(canonical_json(record without "hash"))``. The canonical form
is ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)`` applied to
the record after `to_jsonable` has turned every value into a plain JSON type:

- ``Decimal`` -> ``str`` (money keeps its exact digits), non-finite floats -> ``str``;
- ``date`` / ``datetime`` / ``time`` -> ``isoformat()``; ``Path`` -> ``str``; ``bytes`` -> hex text;
- tuples -> lists, sets -> sorted lists, mapping keys -> ``str``;
- strings that cannot be encoded as UTF-8 (lone surrogates) are escaped, so the file stays valid UTF-8;
- anything else -> ``str(value)``.

Because the record written to the file is already in this plain form, ``json.loads(line)`` gives back
exactly the value that was hashed, and a verifier can recompute the hash from the file alone.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

ZERO_HASH = "0" * 64
"""The ``prev_hash`` of the first record of every audit log."""


def to_jsonable(value: Any) -> Any:
    """Return `value` converted to plain JSON types (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return _utf8_safe(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {_utf8_safe(str(key)): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return _sorted_list(value)
    return _scalar_text(value)


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of `value` (sorted keys, compact, UTF-8 characters kept)."""
    return json.dumps(
        to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def record_hash(record: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex digest of the canonical JSON of `record` without its ``hash`` key."""
    content = {key: item for key, item in record.items() if key != "hash"}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def _scalar_text(value: Any) -> str:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return _utf8_safe(str(value))


def _sorted_list(items: set[Any] | frozenset[Any]) -> list[Any]:
    converted = [to_jsonable(item) for item in items]
    try:
        return sorted(converted)
    except TypeError:
        return sorted(converted, key=canonical_json)


def _utf8_safe(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
