"""Check a notifications file, or send a test message through its channels.

    runner.py notifications check [FILE]                 # problems as file:line:column: message; exit 2
    runner.py notifications test [FILE] [--channel NAME]  # one test message per channel; exit 1 if any failed

(`python -m bastidor.notify ...` is the same.)

FILE defaults to $BASTIDOR_NOTIFICATIONS, then notifications.yaml in the current folder. Without any of
them notifications are off: `check` says there is nothing to check (exit 0), `test` that there is no channel
to send through (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bastidor.flow.diagnostics import FlowValidationError

if TYPE_CHECKING:  # the channels (httpx, smtplib) load only when a file is checked or tested
    from bastidor.notify.notifier import Notifier


def main(argv: list[str] | None = None) -> int:
    """Run `check` or `test` and return the exit code."""
    return run(_parser().parse_args(argv))


def register(commands) -> None:
    """Add `notifications check|test` to the `bastidor` command."""
    parser = commands.add_parser("notifications", help="check the notifications file or send a test message")
    _add_actions(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    """Check the file, or send a test message; returns the exit code."""
    from bastidor.notify.loader import load_notification_settings
    from bastidor.notify.notifier import Notifier, notifications_path

    path, explicit = notifications_path(args.file)
    if not explicit and not path.exists():
        return _no_file(path, args.notify_command)
    try:
        settings = load_notification_settings(path)
    except FlowValidationError as error:
        print(error, file=sys.stderr)
        print("the notifications file is not usable: fix the problems above", file=sys.stderr)
        return 2
    if args.notify_command == "check":
        print(f"{path}: {len(settings.channels)} channel(s), {len(settings.rules)} rule(s): no problems")
        return 0
    return _test(Notifier(settings), args.channel)


def _no_file(path: Path, command: str) -> int:
    """Say that notifications are off because there is no file; exit 0 for `check`, 2 for `test`."""
    where = f"no notifications file: {path.resolve()} does not exist and $BASTIDOR_NOTIFICATIONS is not set"
    if command == "check":
        print(f"{where}, so notifications are off and there is nothing to check. To turn them on, copy "
              "notifications.example.yaml to notifications.yaml (see docs/notifications.md).")
        return 0
    print(f"error: {where}, so there is no channel to send a test message through: write one first "
          "(see notifications.example.yaml and docs/notifications.md)", file=sys.stderr)
    return 2


def _test(notifier: Notifier, channel: str | None) -> int:
    deliveries = notifier.send_test(channel)
    if not deliveries:
        print(f"error: no channel named '{channel}' in the notifications file", file=sys.stderr)
        return 2
    for delivery in deliveries:
        outcome = "sent" if not delivery.failed else f"FAILED after {delivery.attempts} attempt(s): {delivery.reason}"
        print(f"{delivery.channel}: {outcome}")
    return 1 if any(delivery.failed for delivery in deliveries) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bastidor.notify", description=__doc__.splitlines()[0])
    _add_actions(parser)
    return parser


def _add_actions(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="notify_command", required=True, metavar="check|test")
    for name, text in (("check", "check the notifications file"), ("test", "send a test message")):
        command = commands.add_parser(name, help=text)
        command.add_argument("file", nargs="?", help="the notifications file (default: notifications.yaml)")
        if name == "test":
            command.add_argument("--channel", help="only this channel")


if __name__ == "__main__":
    sys.exit(main())
