"""`validate` checks flows without running them; `schema` prints the flow language's JSON Schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bastidor.flow.diagnostics import Diagnostic, FlowValidationError


def register(commands) -> None:
    """Add the `validate` and `schema` commands."""
    validate = commands.add_parser("validate", help="check flows and report every error as file:line:column")
    validate.add_argument("paths", nargs="*", default=["flows"], help="flow files or folders (default: flows)")
    validate.set_defaults(handler=run_validate)
    schema = commands.add_parser("schema", help="print the JSON Schema of the flow language")
    schema.add_argument("--output", "-o", help="write to this file instead of standard output")
    schema.set_defaults(handler=run_schema)


def flow_files(paths: list[str]) -> list[Path]:
    """YAML files named directly or found under the given folders."""
    found: list[Path] = []
    for written in paths:
        path = Path(written)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            found.append(path)
    return found


def validate_paths(paths: list[str]) -> tuple[int, list[Diagnostic]]:
    """How many files were checked, and every diagnostic found in them (each reported once)."""
    from bastidor.flow.loader import FlowLoader

    files = flow_files(paths)
    loader = FlowLoader()
    problems: set[Diagnostic] = set()
    for path in files:
        try:
            loader.load(path)
        except FlowValidationError as error:
            problems.update(error.diagnostics)
    return len(files), sorted(problems)


def run_validate(args) -> int:
    """Print every problem; exit 0 when all flows are valid, 2 otherwise."""
    count, problems = validate_paths(args.paths)
    for problem in problems:
        print(problem)
    if count == 0:
        print("no flow files found", file=sys.stderr)
        return 2
    files_with_errors = len({p.file for p in problems})
    if problems:
        print(f"{len(problems)} problem(s) in {files_with_errors} of {count} file(s)", file=sys.stderr)
        return 2
    print(f"{count} flow file(s) valid")
    return 0


def run_schema(args) -> int:
    """Write the JSON Schema generated from the step and flow models."""
    from bastidor.flow.schema import flow_json_schema

    text = json.dumps(flow_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0
