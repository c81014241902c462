"""`items list`, `items history` and `items requeue`: the work queue for operators on the command line.

Requeueing is a person's decision: it is recorded with the operating-system user in the same
hash-chained log as the console's actions (home/audit/console.jsonl).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.console import Console
from rich.table import Table

from bastidor.cli.common import error_out, home_dir, os_user
from bastidor.queue import ITEM_STATES, QueueError, open_work_queue


def register(commands) -> None:
    """Add the `items` command group."""
    items = commands.add_parser("items", help="work items in the service's queue")
    sub = items.add_subparsers(dest="items_command", metavar="list|history|requeue")
    sub.required = True
    listing = sub.add_parser("list", help="a flow's work items (the queue is named after the flow)")
    listing.add_argument("flow", help="the flow's name, e.g. 'Order entry'")
    listing.add_argument("--state", choices=ITEM_STATES)
    listing.add_argument("--limit", type=int, default=200)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=list_items)
    history = sub.add_parser("history", help="every state change of one item")
    history.add_argument("id", type=int, help="the item id shown by `items list`")
    history.set_defaults(handler=show_history)
    requeue = sub.add_parser("requeue", help="send a failed item back for another try (fresh attempts)")
    requeue.add_argument("id", type=int, help="the item id shown by `items list --state failed`")
    requeue.add_argument("--note", help="why, kept in the item's history and the audit log")
    requeue.set_defaults(handler=requeue_item)


def list_items(args) -> int:
    """Print the flow's items with state, attempts and reason."""
    with open_work_queue(home_dir(args) / "queue.db") as queue:
        found = queue.items(args.flow, state=args.state, limit=args.limit)
    if args.json:
        print(json.dumps([asdict(item) for item in found], default=str, indent=2))
        return 0
    table = Table("id", "reference", "state", "attempts", "not before (UTC)", "deadline (UTC)", "reason")
    for item in found:
        table.add_row(str(item.id), item.reference, item.state, f"{item.attempts}/{item.max_attempts}",
                      _utc(item.defer_until), _utc(item.deadline), item.reason or "")
    Console(highlight=False).print(table if found else f"no items in the queue '{args.flow}'")
    return 0


def show_history(args) -> int:
    """Print one item's state changes, oldest first."""
    with open_work_queue(home_dir(args) / "queue.db") as queue:
        item, events = queue.get_item(args.id), queue.history(args.id)
    if item is None:
        error_out(f"no work item has the id {args.id}: see `items list FLOW`")
        return 2
    print(f"{item.queue_name} / {item.reference}: {item.state}")
    for event in events:
        print(f"  {_utc(event.at)} {event.from_state or '-'} -> {event.to_state} "
              f"(attempt {event.attempt}{', ' + event.worker if event.worker else ''})"
              f"{': ' + event.reason if event.reason else ''}")
    return 0


def requeue_item(args) -> int:
    """Send a failed item back to new, audited with the user who asked."""
    from bastidor.audit import AuditWriteError
    from bastidor.console.console_audit import ConsoleAudit, console_audit_path

    home, user = home_dir(args), os_user()
    with open_work_queue(home / "queue.db") as queue:
        try:
            item = queue.requeue_item(args.id, user, note=args.note)
        except QueueError as error:
            error_out(str(error))
            return 2
    try:
        ConsoleAudit(console_audit_path(home)).record(user, "item.requeue", via="cli", queue=item.queue_name,
                                                      item_ref=item.reference, item_id=item.id, note=args.note)
    except AuditWriteError as error:
        error_out(f"the item was requeued (its history says by whom), but the console audit log could not be "
                  f"written: {error}")
        return 3
    print(f"{item.queue_name} / {item.reference} is queued again; the flow's next run takes it")
    return 0


def _utc(moment) -> str:
    """A time as the queue keeps it (UTC), or nothing."""
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else ""
