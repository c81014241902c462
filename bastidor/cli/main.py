"""The `bastidor` command (also `python runner.py`): parses arguments and dispatches to commands.

Each command lives in its own module. Only the module of the command being run is imported, unless the
command is unknown or help is asked for, when every command is listed; command modules import what their
work needs inside their handlers, so listing them stays quick (see bench/startup_bench.py).

`--home DIR` may be written before or after the command (`runs list --home DIR`). While a command runs,
`$BASTIDOR_HOME` is set to it, so everything that finds its files in the home folder (the secrets file
too, and the service's bot processes) uses the same one.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

HOME_HELP = "folder for runs, the run store, the work queue and secrets.env (default: $BASTIDOR_HOME or .bastidor)"

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


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose sub-commands, at every level, also accept `--home DIR`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubcommandsWithHome)


class _SubcommandsWithHome(argparse._SubParsersAction):
    """Sub-command parsers that take `--home` after the command too; the last `--home` written wins."""

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        """Add the sub-command `name`, with the `--home` option."""
        parser = super().add_parser(name, **kwargs)
        parser.add_argument("--home", default=argparse.SUPPRESS, help=HOME_HELP)
        return parser


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with `command`'s sub-command, or with every sub-command when it is None."""
    parser = CommandParser(prog="bastidor", description="Run, validate and audit Bastidor flows.")
    parser.add_argument("--home", help=HOME_HELP)
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
        with home_in_environment(args.home):
            return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


@contextmanager
def home_in_environment(home: str | None) -> Iterator[None]:
    """Set `$BASTIDOR_HOME` to `--home` while the command runs (nothing when it was not given), and put the
    environment back afterwards (the command line is also called in-process, by tests)."""
    if not home:
        yield
        return
    before = os.environ.get("BASTIDOR_HOME")
    os.environ["BASTIDOR_HOME"] = home
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("BASTIDOR_HOME", None)
        else:
            os.environ["BASTIDOR_HOME"] = before


if __name__ == "__main__":
    sys.exit(main())
