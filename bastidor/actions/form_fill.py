"""The `fill_form` step: many fields of one form filled in a single round trip into the page.

    - fill_form:
        fields:
          Customer: "{{ order.customer }}"
          Product: "{{ order.product }}"          # a drop-down: the option with this text or value
          Quantity: "{{ order.quantity }}"

`fields` maps each field's label to its value, or lists targets with a `value` each, for fields found by
placeholder, test id, CSS or XPath (`- {test_id: qty, value: 3}`). Fields are filled in the order written;
a field that appears only after an earlier one is filled is waited for. Each field gets the events a
person's typing gives it (input, change, blur), and the step's audit record lists every field with the
value it received (secrets masked), like the `fill` steps it replaces.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from bastidor.actions.base import Params, Waits, flow_test_id_attribute, holds_secret, mask_in_screenshots, timeout_of
from bastidor.actions.registry import action
from bastidor.actions.wording import StepWording, readable
from bastidor.executor.errors import StepError
from bastidor.expr import to_text
from bastidor.expr.taint import plain
from bastidor.flow.target import TargetError, TargetKeys, describe_target, resolve_target
from bastidor.flow.types import Text

FORM_STRATEGIES = ("label", "placeholder", "test_id", "css", "xpath")

FieldValue = Annotated[Text, BeforeValidator(lambda value: to_text(value) if isinstance(value, bool) else value)]
"""A field's value: text, a number or a date, or yes/no (true/false) for a checkbox."""


class FormFieldTarget(TargetKeys):
    """One entry of a `fields:` list: a field found by label, placeholder, test id, CSS or XPath, and its value."""

    value: FieldValue = Field(description="Text to put in the field, the option to choose, or yes/no for a "
                                          "checkbox; may use {{ }}.")

    @model_validator(mode="after")
    def _one_form_strategy(self) -> "FormFieldTarget":
        other = [key for key in ("role", "name", "text", "column", "within") if getattr(self, key) is not None]
        if other:
            raise ValueError(f"fill_form finds a field by {', '.join(FORM_STRATEGIES)}; `{other[0]}` is not one "
                             f"of them: fill that field with its own `fill` step")
        given = [key for key in FORM_STRATEGIES if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one way to find the field ({', '.join(FORM_STRATEGIES)}) and a "
                             f"value; found {', '.join(given) or 'none'}")
        return self


class FillFormParams(Waits, Params):
    """The fields of one form and their values."""

    fields: Annotated[Annotated[dict[str, FieldValue], Tag("by_label")] | Annotated[list[FormFieldTarget], Tag("fields")],
                      Discriminator(lambda value: "fields" if isinstance(value, list) else "by_label")] = Field(
        description="Label: value for each field, in the order to fill them; or a list of targets "
                    "({placeholder|test_id|css|xpath|label: ..., value: ...}).")

    @field_validator("fields")
    @classmethod
    def _not_empty(cls, fields: Any) -> Any:
        if not fields:
            raise ValueError("name at least one field, e.g. fields: {Customer: \"{{ order.customer }}\"}")
        return fields

    def describe(self) -> str:
        """The fields in a few words, for logs and the step's target, e.g. `form fields "Customer", "Product"`."""
        names = [f'"{key}"' for key in self.fields] if isinstance(self.fields, dict) else [
            describe_target(entry) for entry in self.fields]
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        return f"form fields {shown}"


def _sentence(wording: StepWording) -> str:
    fields = wording.raw("fields") or {}
    if isinstance(fields, dict):
        parts = [f"'{label}' with {readable(value)}" for label, value in fields.items()]
    else:
        parts = [f"{StepWording(wording.params, entry).target} with {readable(entry.get('value'))}"
                 for entry in fields if isinstance(entry, dict)]
    return "Fill the form: " + "; ".join(parts)


@action("fill_form", params=FillFormParams, kind="browser", describe=_sentence)
def fill_form_step(ctx, params):
    """Fill many fields of a form at once, by label (or placeholder, test id, CSS, XPath)."""
    from bastidor.bots.form_fill import FormFillError, fill_form

    fields = [_form_field(ctx, entry) for entry in _entries(params.fields)]
    try:
        filled = fill_form(ctx.page, fields, timeout_of(ctx, params))
    except FormFillError as error:
        raise StepError(str(error)) from None
    return {"filled": filled}


def _entries(fields: Any) -> list[dict[str, Any]]:
    """Each field as a target mapping with its value (fields were rendered, so these are plain values)."""
    if isinstance(fields, dict):
        return [{"label": label, "value": value} for label, value in fields.items()]
    return [entry.model_dump(exclude_none=True) if hasattr(entry, "model_dump") else dict(entry) for entry in fields]


def _form_field(ctx, entry: dict[str, Any]):
    """The field to fill for one entry; a field receiving a secret is blacked out in screenshots from now on."""
    from bastidor.bots.form_fill import FormField
    from bastidor.bots.locate import locate

    target_keys = {key: value for key, value in entry.items() if key != "value"}
    try:
        target = resolve_target(target_keys)
    except TargetError as error:
        raise StepError(f"{describe_target(target_keys)}: {error}") from None
    secret = holds_secret(entry["value"])
    if secret:
        mask_in_screenshots(ctx, locate(ctx.page, target, test_id_attribute=flow_test_id_attribute(ctx)))
    how, value = target.strategy()
    text = plain(to_text(entry["value"]))
    return FormField.make(how, value, text, target.describe(), exact=bool(target.exact), nth=target.nth,
                          test_id_attribute=flow_test_id_attribute(ctx), secret=secret)
