"""`describe FLOW`: prints a flow as a readable procedure, the same text the console's flow catalog shows."""

from __future__ import annotations

from pathlib import Path

from bastidor.cli.common import error_out
from bastidor.flow.diagnostics import FlowValidationError


def register(commands) -> None:
    """Add the `describe` command."""
    describe = commands.add_parser("describe", help="print a flow as a numbered procedure in plain language")
    describe.add_argument("flow", help="the flow file, e.g. flows/order_entry.yaml")
    describe.add_argument("--flows-dir", help="folder that sub-flow paths are shown relative to "
                          "(default: the flow's own folder)")
    describe.set_defaults(handler=run_describe)


def run_describe(args) -> int:
    """Print the procedure; exit 2 with every problem as file:line:column when the flow is not valid."""
    from bastidor.console.data.flow_procedure import procedure_of, procedure_text
    from bastidor.flow.loader import load_flow

    path = Path(args.flow)
    if not path.is_file():
        error_out(f"no flow file '{path}': give the path of a .yaml flow, e.g. flows/order_entry.yaml")
        return 2
    try:
        flow = load_flow(path)
    except FlowValidationError as error:
        for problem in error.diagnostics:
            print(problem)
        error_out(f"{path} is not valid, so it cannot be described: fix the problems above "
                  f"(`python runner.py validate {path}` checks it again)")
        return 2
    flows_dir = Path(args.flows_dir) if getattr(args, "flows_dir", None) else path.parent
    print(procedure_text(procedure_of(flow, flows_dir)), end="")
    return 0
