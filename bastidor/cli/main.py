"""The `bastidor` command (also `python runner.py`): parses arguments and dispatches to commands."""

from __future__ import annotations

import argparse
import sys

from bastidor.cli import (commands_audit, commands_dashboard, commands_demo, commands_describe, commands_items,
                          commands_run, commands_runs, commands_schedules, commands_service, commands_users,
                          commands_validate)
from bastidor.notify import __main__ as commands_notifications


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="bastidor", description="Run, validate and audit Bastidor flows.")
    parser.add_argument("--home", help="Folder for runs, the run store and secrets (default: .bastidor "
                        "or $BASTIDOR_HOME)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for module in (commands_run, commands_validate, commands_describe, commands_runs, commands_audit, commands_demo,
                   commands_schedules, commands_service, commands_items, commands_dashboard, commands_users,
                   commands_notifications):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
