"""Small value types shared by the flow models: durations and templated text."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, None: 1000}


def parse_duration_ms(value: Any) -> int:
    """Milliseconds from a number of seconds or text like `500ms`, `2s`, `1.5m`, `1h`."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 500ms, 2s, 1m")
    if isinstance(value, (int, float, Decimal)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return int(Decimal(str(value)) * 1000)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"'{value}' is not a duration: write e.g. 500ms, 2s, 1m or 1h")
    return int(Decimal(match.group(1)) * _UNIT_MS[match.group(2)])


DurationMs = Annotated[
    int,
    BeforeValidator(parse_duration_ms),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0},
                              {"type": "string", "pattern": r"^\d+(\.\d+)?\s*(ms|s|m|h)?$"}],
                    "description": "Seconds, or text like 500ms, 2s, 1m, 1h."}),
]

Text = Annotated[str, BeforeValidator(lambda v: v if isinstance(v, str) else _scalar_text(v))]
"""A string field that also takes a number or date written without quotes."""



def _is_expression(value: str) -> str:
    if "{{" not in value:
        raise ValueError(f"write the expression inside {{{{ }}}}, e.g. \"{{{{ {value} }}}}\"")
    return value


ExpressionText = Annotated[str, AfterValidator(_is_expression),
                           Field(description="A `{{ expression }}`, e.g. \"{{ total > 1000 }}\".")]


def _scalar_text(value: Any) -> Any:
    if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


class Strict(BaseModel):
    """Base for every model written by analysts: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


SECRET_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
"""A secret's name: ASCII letters, digits and _, as it is also the name of an environment variable."""


def _secret_name(name: str) -> str:
    if not re.fullmatch(SECRET_NAME_PATTERN, name):
        raise ValueError(f"'{name}' is not a secret name: a letter first, then letters, digits or _, in ASCII "
                         f"only (it is read from the environment variable BASTIDOR_SECRET_<NAME>)")
    return name


SecretName = Annotated[str, AfterValidator(_secret_name)]
