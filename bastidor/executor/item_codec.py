"""Item rows as JSON for the work queue: money stays exact and dates stay dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


def encode_value(value: Any) -> Any:
    """A row as JSON that keeps money exact and dates as dates."""
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    return value


def decode_value(value: Any) -> Any:
    """The inverse of `encode_value`."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("$decimal", "$date", "$datetime"):
            kind, text = next(iter(value.items()))
            return {"$decimal": Decimal, "$date": dt.date.fromisoformat,
                    "$datetime": dt.datetime.fromisoformat}[kind](text)
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value
