"""Collects the diagnostics found while checking one schedules file, each placed at file:line:column."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from bastidor.flow.diagnostics import Diagnostic
from bastidor.flow.explain import explain_errors
from bastidor.flow.yamlsource import Loc, SourceMap


class Problems:
    """Diagnostics collected while checking one schedules file, placed by their path in the data."""

    def __init__(self, source: SourceMap):
        self.source = source
        self.items: list[Diagnostic] = []

    def add(self, loc: Loc, message: str, *, key: bool = False, offset: int = 0) -> None:
        """Record a problem at `loc` (at its key when `key`; `offset` characters into the value)."""
        self.items.append(self.source.diagnostic(loc, message, prefer_key=key, offset=offset))

    def validate(self, model: type[BaseModel], data: Any, loc: Loc, where: str) -> Any:
        """`data` validated as `model`. On errors, each is recorded, the keys at fault are dropped
        and the rest is validated again, so later checks still run on what is right; None when
        even the rest is not valid."""
        try:
            return model.model_validate(data)
        except ValidationError as error:
            self.items += explain_errors(error, model, where, self.source, lambda inner: loc + tuple(inner))
            faulty = {err["loc"][0] for err in error.errors() if err["loc"]}
        if not isinstance(data, dict) or not faulty:
            return None
        try:
            return model.model_validate({key: value for key, value in data.items() if key not in faulty})
        except ValidationError:
            return None
