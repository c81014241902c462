"""`items list`, `items history` and `items requeue`: the work queue for operators on the command line.

A flow is named by its name or its file; an item by its id or its reference (see `bastidor.cli.item_lookup`).
Requeueing is a person's decision: it is recorded with the operating-system user in the same
hash-chained log as the console's actions (home/audit/console.jsonl).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from bastidor.cli.common import database_errors_in_one_line, error_out, home_dir, os_user
from bastidor.cli.item_lookup import LookupProblem, find_item, queue_name_for, queue_names
from bastidor.queue.records import ITEM_STATES
from bastidor.database.places import places_for

ITEM_HELP = "the item's id shown by `items list`, or its reference (e.g. ORD-0007)"


def register(commands) -> None:
    """Add the `items` command group."""
    items = commands.add_parser("items", help="work items in the service's queue")
    sub = items.add_subparsers(dest="items_command", metavar="list|history|requeue")
    sub.required = True
    listing = sub.add_parser("list", help="a flow's work items (the queue is named after the flow)")
    listing.add_argument("flow", help="the flow's name, e.g. 'Order entry', or its file, e.g. flows/order_entry.yaml")
    listing.add_argument("--state", choices=ITEM_STATES)
    listing.add_argument("--limit", type=int, default=200)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=list_items)
    history = sub.add_parser("history", help="every state change of one item")
    history.add_argument("item", metavar="ITEM", help=ITEM_HELP)
    history.add_argument("--flow", help="the flow (name or file) whose item it is, when several flows have "
                         "an item with that reference")
    history.set_defaults(handler=show_history)
    requeue = sub.add_parser("requeue", help="send a failed item back for another try (fresh attempts)")
    requeue.add_argument("item", metavar="ITEM", help=ITEM_HELP + "; see `items list FLOW --state failed`")
    requeue.add_argument("--flow", help="the flow (name or file) whose item it is, when several flows have "
                         "an item with that reference")
    requeue.add_argument("--note", help="why, kept in the item's history and the audit log")
    requeue.set_defaults(handler=requeue_item)


@database_errors_in_one_line
def list_items(args) -> int:
    """Print the flow's items with state, attempts and reason."""
    from bastidor.queue import open_work_queue

    try:
        name = queue_name_for(args.flow)
    except LookupProblem as problem:
        error_out(str(problem))
        return 2
    with open_work_queue(places_for(home_dir(args)).queue) as queue:
        found = queue.items(name, state=args.state, limit=args.limit)
        known = [] if found else queue_names(queue)
    if args.json:
        print(json.dumps([asdict(item) for item in found], default=str, indent=2))
        return 0
    if found:
        _print_items(found)
    else:
        print(_nothing_listed(name, args.state, known))
    return 0


def _print_items(found: list) -> None:
    """The items as a table: id, reference, state, attempts, times and reason."""
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "reference", "state", "attempts", "not before (UTC)", "deadline (UTC)", "reason")
    for item in found:
        table.add_row(str(item.id), item.reference, item.state, f"{item.attempts}/{item.max_attempts}",
                      _utc(item.defer_until), _utc(item.deadline), item.reason or "")
    Console(highlight=False).print(table)


def _nothing_listed(name: str, state: str | None, known: list[str]) -> str:
    """Why nothing was listed, naming the queues there are when the flow's has no item at all."""
    if state is not None and name in known:
        return f"no {state} items in the queue '{name}'"
    if not known:
        return f"no items in the queue '{name}' (no flow has queued items in {_where()} yet)"
    return f"no items in the queue '{name}'; flows with queued items: {', '.join(repr(q) for q in known)}"


@database_errors_in_one_line
def show_history(args) -> int:
    """Print one item's state changes, oldest first."""
    from bastidor.queue import open_work_queue

    with open_work_queue(places_for(home_dir(args)).queue) as queue:
        try:
            item = find_item(queue, args.item, _flow_name(args.flow))
        except LookupProblem as problem:
            error_out(str(problem))
            return 2
        events = queue.history(item.id)
    print(f"{item.queue_name} / {item.reference} (id {item.id}): {item.state}")
    for event in events:
        print(f"  {_utc(event.at)} {event.from_state or '-'} -> {event.to_state} "
              f"(attempt {event.attempt}{', ' + event.worker if event.worker else ''})"
              f"{': ' + event.reason if event.reason else ''}")
    return 0


@database_errors_in_one_line
def requeue_item(args) -> int:
    """Send a failed item back to new, audited with the user who asked."""
    from bastidor.audit import AuditWriteError
    from bastidor.console.console_audit import ConsoleAudit, console_audit_path
    from bastidor.queue import QueueError, open_work_queue

    home, user = home_dir(args), os_user()
    with open_work_queue(places_for(home).queue) as queue:
        try:
            item = queue.requeue_item(find_item(queue, args.item, _flow_name(args.flow)).id, user, note=args.note)
        except (LookupProblem, QueueError) as error:
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


def _where() -> str:
    """Where the queue is, for messages: this home folder, or the shared database."""
    places = places_for(home_dir(None))
    return places.describe() if places.shared else "this home folder"


def _flow_name(written: str | None) -> str | None:
    """The queue name for `--flow` (a name or a file), None when it was not given."""
    return None if written is None else queue_name_for(written)


def _utc(moment) -> str:
    """A time as the queue keeps it (UTC), or nothing."""
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else ""
