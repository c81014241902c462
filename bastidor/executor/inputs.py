"""Typed flow inputs: defaults from the flow, overrides from the command line or a caller."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from bastidor.flow.diagnostics import did_you_mean
from bastidor.flow.model import FlowHeader, InputType, convert_input


class InputError(Exception):
    """An input given to a flow is unknown, missing or of the wrong type."""


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """`name=value` strings from the command line as a dict."""
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--input '{pair}' must look like name=value")
        result[name.strip()] = value
    return result


def resolve_inputs(header: FlowHeader, flow_dir: Path, given: Mapping[str, Any],
                   *, given_base: Path | None = None) -> dict[str, Any]:
    """Every input with its typed value. Paths written in the flow are relative to its folder;
    paths given on the command line are relative to `given_base` (the working folder)."""
    for name in given:
        if name not in header.inputs:
            hint = did_you_mean(name, header.inputs) if header.inputs else "; this flow has no inputs"
            raise InputError(f"unknown input '{name}'{hint}")
    values = {}
    for name, spec in header.inputs.items():
        if name in given:
            values[name] = _converted(name, spec.type, given[name], given_base)
        elif spec.default is not None:
            values[name] = _converted(name, spec.type, spec.default, flow_dir)
        else:
            raise InputError(f"input '{name}' has no default: give it with --input {name}=...")
    return values


def _converted(name: str, kind: InputType, value: Any, base: Path | None) -> Any:
    try:
        converted = convert_input(kind, value)
    except ValueError as error:
        raise InputError(f"input '{name}': {error}") from None
    if kind is InputType.path and base is not None and not Path(converted).is_absolute():
        return str((base / converted).resolve())
    return converted
