"""Finding work items the way an operator names them: a flow by its name or its file, an item by its number
or by its reference (`ORD-0007`), which may be in the queues of several flows.

The `WorkQueue` interface reads one named queue at a time; looking a reference up across every queue, and
listing the queues there are, reads the SQLite queue's table directly (as the console's item timeline does),
and falls back to the interface for other backends.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bastidor.flow.diagnostics import FlowValidationError

if TYPE_CHECKING:
    from bastidor.queue import WorkItem, WorkQueue

FLOW_SUFFIXES = (".yaml", ".yml")


class LookupProblem(Exception):
    """The flow or the item the operator named cannot be found, or names more than one; the message says
    what to write instead."""


def queue_name_for(written: str) -> str:
    """The queue a flow's items are in (the flow's `name`), from the flow's name or from its file's path."""
    path = Path(written)
    if path.suffix not in FLOW_SUFFIXES and not path.is_file():
        return written
    if not path.is_file():
        raise LookupProblem(f"no flow file {path.resolve()}: give the flow's file or its name, e.g. 'Order entry'")
    return _flow_name_in(path)


def _flow_name_in(path: Path) -> str:
    """The `name:` written in a flow file, read without checking the rest of the flow."""
    from bastidor.flow.yamlsource import load_yaml

    try:
        data = load_yaml(path).data
    except FlowValidationError as error:
        raise LookupProblem(f"{path} cannot be read as a flow:\n{error}") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise LookupProblem(f"{path} has no `name:`, and a flow's items are kept under its name")
    return name


def find_item(queue: WorkQueue, written: str, flow: str | None) -> WorkItem:
    """The item `written` names: its numeric id (without `flow`), or its reference (within `flow`'s queue
    when given). A reference made of digits only is looked up as one when no item has that id, or with
    `flow`."""
    if written.isdigit() and flow is None:
        item = queue.get_item(int(written))
        if item is not None:
            return item
    found = items_with_reference(queue, written, flow)
    if len(found) == 1:
        return found[0]
    if found:
        flows = ", ".join(f"'{item.queue_name}' (id {item.id})" for item in found)
        raise LookupProblem(f"the reference '{written}' is in the queues of several flows: {flows}; say which "
                            f"with --flow NAME, or give the item's id")
    what = "id or reference" if written.isdigit() and flow is None else "reference"
    where = f" in the queue '{flow}'" if flow else ""
    raise LookupProblem(f"no work item has the {what} '{written}'{where}: see `items list FLOW`")


def items_with_reference(queue: WorkQueue, reference: str, flow: str | None) -> list[WorkItem]:
    """Every item with this reference, in `flow`'s queue only when it is given, oldest first."""
    database = _sqlite_database(queue)
    if database is None:
        if flow is None:
            raise LookupProblem(f"this work queue cannot look '{reference}' up in every flow: add --flow NAME")
        return [item for item in queue.items(flow) if item.reference == reference]
    from sqlalchemy import select

    from bastidor.queue.schema import work_items

    query = select(work_items.c.id).where(work_items.c.reference == reference).order_by(work_items.c.id)
    if flow is not None:
        query = query.where(work_items.c.queue_name == flow)
    with database.reading() as connection:
        ids = list(connection.execute(query).scalars())
    return [item for item in map(queue.get_item, ids) if item is not None]


def queue_names(queue: WorkQueue) -> list[str]:
    """The names of the queues that hold items (empty when the backend cannot list them)."""
    database = _sqlite_database(queue)
    if database is None:
        return []
    from sqlalchemy import select

    from bastidor.queue.schema import work_items

    with database.reading() as connection:
        return list(connection.execute(select(work_items.c.queue_name).distinct()
                                       .order_by(work_items.c.queue_name)).scalars())


def _sqlite_database(queue: WorkQueue) -> Any:
    """The SQLite queue's database (with `reading()`), or None for another backend."""
    database = getattr(queue, "database", None)
    return database if hasattr(database, "reading") else None
