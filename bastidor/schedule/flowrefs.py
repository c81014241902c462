"""Checks a schedule's flow reference: the file exists, the flow is valid, and the inputs fit it."""

from __future__ import annotations

import datetime as dt
import difflib
from decimal import Decimal
from pathlib import Path
from typing import Any

from bastidor.flow.diagnostics import FlowValidationError, did_you_mean, display_path
from bastidor.flow.loader import FlowLoader
from bastidor.flow.model import FlowHeader, InputType, convert_input
from bastidor.flow.yamlsource import Loc
from bastidor.schedule.problems import Problems


def check_flow(written: str, folder: Path, flows: FlowLoader, problems: Problems,
               loc: Loc) -> tuple[Path, FlowHeader] | None:
    """The flow's absolute path and header, or None after recording why it cannot run."""
    target = (folder / written).resolve()
    if not target.is_file():
        problems.add(loc, f"flow file '{written}' not found (looked for {display_path(target)})"
                     f"{_nearby_files(written, target)}")
        return None
    try:
        flow = flows.load(target)
    except FlowValidationError as error:
        problems.items += error.diagnostics
        problems.add(loc, f"flow '{written}' is not valid: fix the problems reported in {display_path(target)}")
        return None
    return target, flow.header


def _nearby_files(written: str, target: Path) -> str:
    if not target.parent.is_dir():
        return ""
    siblings = sorted(p.name for p in target.parent.iterdir() if p.suffix in (".yaml", ".yml"))
    near = difflib.get_close_matches(target.name, siblings, n=1, cutoff=0.6)
    return f", did you mean '{(Path(written).parent / near[0]).as_posix()}'?" if near else ""


def check_inputs(header: FlowHeader, given: dict[str, Any], written_flow: str, folder: Path,
                 problems: Problems, loc: Loc, provided: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The inputs as plain JSON values (path inputs made absolute, relative to `folder`), after
    recording unknown, missing and ill-typed ones. The executor converts them to the flow's types.
    Inputs in `provided` are given by the trigger at each fire (a file's path): never missing, and
    not to be written under `inputs`."""
    values: dict[str, Any] = {}
    for name, value in given.items():
        if name in provided:
            problems.add(loc + (name,), f"input '{name}' is given by the trigger at each run: remove it "
                         "from inputs", key=True)
            continue
        spec = header.inputs.get(name)
        if spec is None:
            hint = did_you_mean(name, header.inputs) if header.inputs else "; it declares no inputs"
            problems.add(loc + (name,), f"flow '{written_flow}' has no input '{name}'{hint}", key=True)
            continue
        try:
            converted = convert_input(spec.type, value)
        except ValueError as error:
            problems.add(loc + (name,), f"input '{name}': {error}")
            continue
        values[name] = _plain(value)
        if spec.type is InputType.path and not Path(converted).is_absolute():
            values[name] = str((folder / converted).resolve())
    for name, spec in header.inputs.items():
        if spec.default is None and name not in given and name not in provided:
            problems.add(loc, f"flow '{written_flow}' needs input '{name}': add it under inputs", key=True)
    return values


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a value written in YAML (numbers with a point and dates become text)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
