"""The `bastidor` command (also `python runner.py`): parses arguments and dispatches to commands.

Each command lives in its own module. Only the module of the command being run is imported (the others
pull in the executor, the browser driver or the web console, which takes most of a second), unless the
command is unknown or help is asked for, when every command is listed.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = {
    "run": "bastidor.cli.commands_run",
    "validate": "bastidor.cli.commands_validate",
    "schema": "bastidor.cli.commands_validate",
    "describe": "bastidor.cli.commands_describe",
    "runs": "bastidor.cli.commands_runs",
    "report": "bastidor.cli.commands_runs",
    "audit": "bastidor.cli.commands_audit",
    "demo": "bastidor.cli.commands_demo",
    "portal": "bastidor.cli.commands_demo",
    "schedules": "bastidor.cli.commands_schedules",
    "serve": "bastidor.cli.commands_service",
    "trigger": "bastidor.cli.commands_service",
    "items": "bastidor.cli.commands_items",
    "dashboard": "bastidor.cli.commands_dashboard",
    "users": "bastidor.cli.commands_users",
    "notifications": "bastidor.notify.__main__",
}
"""Which module registers each command, in the order `--help` lists them."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with `command`'s sub-command, or with every sub-command when it is None."""
    parser = argparse.ArgumentParser(prog="bastidor", description="Run, validate and audit Bastidor flows.")
    parser.add_argument("--home", help="Folder for runs, the run store and secrets (default: .bastidor "
                        "or $BASTIDOR_HOME)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    names = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else COMMAND_MODULES.values()
    for name in dict.fromkeys(names):
        importlib.import_module(name).register(commands)
    return parser


def command_in(argv: list[str]) -> str | None:
    """The sub-command named in `argv` (skipping `--home DIR`), or None when there is none."""
    words = iter(argv)
    for word in words:
        if word == "--home":
            next(words, None)
        elif not word.startswith("-"):
            return word
        elif word in ("-h", "--help"):
            return None
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(command_in(argv)).parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
