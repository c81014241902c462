"""Errors an analyst can act on: `file:line:column: message`, collected and reported all at once."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a user's file, with a 1-based line and column."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class FlowValidationError(Exception):
    """A flow (or schedules file) has problems; `diagnostics` lists every one of them."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = sorted(set(diagnostics))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def display_path(path: Path | str) -> str:
    """The path as the user should see it: relative to the working folder when it is inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`, did you mean 'x'?` for the nearest choice, or the list of valid choices when none is near."""
    choices = sorted(set(choices))
    near = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if near:
        return f", did you mean '{near[0]}'?"
    if len(choices) <= 12:
        return "; valid choices: " + ", ".join(choices)
    return ""
