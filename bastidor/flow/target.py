"""How a step names the element it acts on: the way a person reads the page, CSS or XPath last."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

STRATEGIES = ("label", "role", "text", "placeholder", "test_id", "css", "xpath")


class TargetFields(BaseModel):
    """Target keys shared by every step that acts on an element.

    Exactly one strategy is given: `label`, `role` (with an optional accessible `name`),
    `text`, `placeholder`, `test_id`, or the fallbacks `css` and `xpath`.
    """

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, description="The field's label text, as a person reads it.")
    role: str | None = Field(None, description="ARIA role, e.g. button, link, textbox, checkbox.")
    name: str | None = Field(None, description="Accessible name, used with `role`.")
    text: str | None = Field(None, description="Visible text of the element.")
    placeholder: str | None = Field(None, description="Placeholder text of an input.")
    test_id: str | None = Field(None, description="Value of the data-testid attribute.")
    css: str | None = Field(None, description="CSS selector (fallback).")
    xpath: str | None = Field(None, description="XPath expression (fallback).")
    exact: bool = Field(True, description="Match label, name, text or placeholder exactly.")
    nth: int | None = Field(None, ge=0, description="Pick the n-th match (0-based) when several match.")

    @model_validator(mode="after")
    def _one_strategy(self) -> "TargetFields":
        if self.name is not None and self.role is None:
            raise ValueError("`name` needs a `role`, e.g. role: button, name: Submit")
        given = [s for s in STRATEGIES if getattr(self, s) is not None]
        if len(given) != 1:
            choices = ", ".join(STRATEGIES)
            found = ", ".join(given) or "none"
            raise ValueError(f"give exactly one target ({choices}); found {found}")
        return self

    def strategy(self) -> tuple[str, str]:
        """The strategy in use and its value, e.g. ("label", "Quantity")."""
        for key in STRATEGIES:
            value = getattr(self, key)
            if value is not None:
                return key, value
        raise AssertionError("validated target has no strategy")

    def describe(self) -> str:
        """A short human description for logs and errors, e.g. `label "Quantity"`."""
        key, value = self.strategy()
        if key == "role" and self.name is not None:
            return f'role {value} "{self.name}"'
        return f'{key.replace("_", " ")} "{value}"'
