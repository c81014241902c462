"""The flow file's header: name, inputs, secrets, bot settings and goals. Steps are parsed in `steps.py`."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema, model_validator

from bastidor.flow.blocking import BlockEntry
from bastidor.flow.connections import ApiSpec, DatabaseSpec, FolderPath, MailAccountSpec
from bastidor.flow.types import SECRET_NAME_PATTERN, DurationMs, SecretName, Strict  # noqa: F401 (re-exported)

NAME_PATTERN = r"^[^\W\d_]\w*$"
"""A variable name (inputs, outputs, `set`, `into`, `as`, `list`): a letter first, then letters, digits and _.
Letters are any alphabet's (`año`, `número`), as in expressions. The same text works in Python's `re` and in
pydantic's `pattern=`."""
VARIABLE_NAME_RULE = "a letter first, then letters, digits or _ (e.g. order_number)"


def is_variable_name(name: Any) -> bool:
    """Whether `name` can name a variable and be read back in an expression (`{{ name }}`)."""
    return (isinstance(name, str) and re.fullmatch(NAME_PATTERN, name) is not None and name.isidentifier()
            and unicodedata.normalize("NFKC", name) == name)


def _variable_name(name: str) -> str:
    if not is_variable_name(name):
        fixed = re.sub(r"\W+", "_", name).strip("_")
        example = f"e.g. {fixed}" if is_variable_name(fixed) else "e.g. order_number"
        raise ValueError(f"'{name}' is not a name: a letter first, then letters, digits or _ ({example})")
    return name


VariableName = Annotated[str, AfterValidator(_variable_name)]


class InputType(str, Enum):
    """The types an input can have."""

    text = "text"
    integer = "integer"
    decimal = "decimal"
    date = "date"
    boolean = "boolean"
    path = "path"


class InputSpec(Strict):
    """A typed flow input with an optional default, overridable from the command line."""

    type: InputType = InputType.text
    default: Any = None
    description: str = ""

    @model_validator(mode="after")
    def _default_has_type(self) -> "InputSpec":
        if self.default is not None:
            self.default = convert_input(self.type, self.default)
        return self


def convert_input(kind: InputType, value: Any) -> Any:
    """Convert a written or command-line value to the input's type, or raise ValueError."""
    text = str(value).strip()
    try:
        if kind is InputType.integer:
            if isinstance(value, bool):
                raise ValueError
            return int(text)
        if kind is InputType.decimal:
            return Decimal(text)
        if kind is InputType.date:
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(text)
        if kind is InputType.boolean:
            return _to_bool(value)
        if kind is InputType.path:
            return str(Path(text))
        return value if isinstance(value, str) else text
    except (ValueError, InvalidOperation):
        raise ValueError(f"'{value}' is not a valid {kind.value}") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise ValueError


class Viewport(Strict):
    """Browser window size in CSS pixels."""

    width: int = Field(1280, ge=200, le=7680)
    height: int = Field(800, ge=200, le=4320)


class BotSpec(Strict):
    """How the bot's browser is set up for this flow."""

    base_url: str | None = Field(None, description="Relative `open` URLs are resolved against this.")
    headless: bool = True
    timeout: DurationMs = Field(10_000, description="Default wait for each browser action.")
    viewport: Viewport = Field(default_factory=Viewport)
    locale: str = "en-US"
    timezone: str = "UTC"
    downloads: str | None = Field(None, description="Folder for downloaded files (default: the run folder).")
    browser: str | None = Field(None, description="Path or command of a Chromium or Chrome to use.")
    screenshot_on_failure: bool = True
    trace_on_failure: bool = False
    test_id_attribute: str = Field(
        "data-testid", pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$",
        description="Attribute that `test_id:` targets read, e.g. data-test or data-qa.")
    fresh_context: Literal["per_run", "per_item"] = Field(
        "per_run", description="per_item: each work item starts in a new browser context (no cookies, "
        "storage or open pages from the item before).")
    block: list[BlockEntry] = Field(
        default_factory=list, description="Requests the browser refuses, for speed: images, fonts, media, "
        "stylesheets and URL patterns such as **/analytics/**. Off by default; see the risks in the docs.")


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_rate(value: Any) -> Decimal:
    """A share as a fraction from 0 to 1, written as a percent (`95%`) or a fraction (`0.95`)."""
    how = "write a percent like 95% or a fraction like 0.95"
    match = _PERCENT.match(value) if isinstance(value, str) else None
    try:
        rate = Decimal(match.group(1)) / 100 if match else Decimal(str(value).strip())
    except InvalidOperation:
        rate = None
    if isinstance(value, bool) or rate is None or not rate.is_finite():
        raise ValueError(f"'{value}' is not a rate: {how}")
    if not match and 1 < rate <= 100:
        raise ValueError(f"a number without % is a fraction: write {value}% for {value} percent, "
                         f"or {rate / 100} as a fraction")
    if not 0 <= rate <= 1:
        raise ValueError(f"{value} is not between 0% and 100%: {how}")
    return rate


Rate = Annotated[
    Decimal,
    BeforeValidator(parse_rate),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": 1},
                              {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$"}],
                    "description": "A percent like 95% or a fraction like 0.95."}),
]


class Goals(Strict):
    """Targets a supervisor manages this flow by; the KPIs page shows each one as met or missed."""

    min_success_rate: Rate | None = Field(None, description="Share of finished items that succeed, e.g. 95%.")
    min_items_per_day: int | None = Field(None, ge=0, description="Items finished per day the flow ran.")
    max_handling_time: DurationMs | None = Field(None, description="Average time to handle one item.")
    max_p95_handling_time: DurationMs | None = Field(
        None, description="Time within which 95% of items are handled.")


def _version(value: Any) -> Any:
    """A flow's version as written: a whole number stays one; other numbers and dates become text."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, (Decimal, dt.date)):
        return str(value)
    raise ValueError("version must be a number or text, e.g. version: 2")


class FlowHeader(Strict):
    """Everything in a flow file except its steps."""

    name: str = Field(min_length=1, description="Short name shown in reports and the run history.")
    description: str = ""
    version: Annotated[str | int, BeforeValidator(_version),
                       WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "number"}, {"type": "string"}]})] = Field(
        1, description="Version of this flow, raised when the procedure changes.")
    inputs: dict[VariableName, InputSpec] = Field(default_factory=dict)
    outputs: list[VariableName] = Field(default_factory=list, description="Variables handed back to a calling flow.")
    secrets: list[SecretName] = Field(default_factory=list, description="Names of secrets the flow needs; never values.")
    bot: BotSpec | None = Field(None, description="Browser settings; leave out for flows without a browser.")
    apis: dict[VariableName, ApiSpec] = Field(default_factory=dict, description="Web APIs the flow calls, by name.")
    databases: dict[VariableName, DatabaseSpec] = Field(default_factory=dict,
                                                        description="Databases the flow queries, by name.")
    mail: dict[VariableName, MailAccountSpec] = Field(default_factory=dict,
                                                      description="Mail accounts the flow reads or sends from.")
    folders: dict[VariableName, FolderPath] = Field(default_factory=dict, description=(
        "Folders the file steps may use, by name: absolute, or relative to the flow file's folder."))
    goals: Goals | None = Field(None, description="Targets shown as met or missed on the KPIs page.")
    steps: Any = Field(description="The steps, in order.")


OnError = Literal["continue", "stop"]
