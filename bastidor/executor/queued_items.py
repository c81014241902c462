"""Work items through the persistent queue: when a run belongs to the service, its `for_each_item` adds
its rows to the flow's queue (each reference once, ever) and then claims items one at a time, so several
bots share the work and a crashed bot's item is picked up again after its lease.

The loop tells the queue which queue its request works on (so items it leaves are resumed), records each
item's outcome in the queue before the run store (so a bot killed in between is read back truthfully), and
when the bot is asked to stop while items are still waiting, it ends the run as interrupted rather than
done: the request goes back to the queue (a draining service) or the rest waits (a time limit).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bastidor.executor.errors import Interrupted
from bastidor.executor.item_codec import decode_value, encode_value
from bastidor.executor.items import run_item, skip_item
from bastidor.executor.state import ItemState
from bastidor.service.heartbeat import Heartbeat


def run_queued_items(ctx: Any, params: Any, rows: list) -> dict[str, int]:
    """Add the loop's rows to the queue, then process claimed items until none is left or the run stops."""
    service = ctx.state.service
    queue_name = ctx.state.flow.name
    service.bind_queue(queue_name)
    added = _add_rows(ctx, params, rows, queue_name)
    processed, postponed_here = 0, set()
    while not service.stopping():
        claimed = service.queue.claim_item(queue_name, service.worker_id, service.item_lease_s,
                                           run_id=ctx.state.run_id)
        if claimed is None:
            if not _wait_for_retries(service, queue_name, postponed_here):
                break
            continue
        processed += 1
        if _process(ctx, params, claimed) == "postponed":
            postponed_here.add(claimed.id)
    _stop_if_work_is_left(service, queue_name)
    return {"rows": len(rows), "added": added, "processed": processed}


def _stop_if_work_is_left(service: Any, queue_name: str) -> None:
    """A loop that stopped because the bot was told to stop, with items still to take, did not finish."""
    if not service.stopping():
        return
    left = service.queue.claimable(queue_name)
    if left:
        raise Interrupted(f"{service.stop_reason}; {left} items were left in the queue for a later run",
                          requeue=service.requeue)


MAX_RETRY_WAIT_S = 120.0


def _wait_for_retries(service: Any, queue_name: str, postponed_here: set[int]) -> bool:
    """When only items waiting for a retry are left, wait for the next one (up to two minutes) rather
    than end the run; returns False when there is nothing left to wait for. Items this run postponed are
    not waited for: the run would otherwise keep going as long as the flow keeps putting them off."""
    waiting = [item.defer_until for item in service.queue.items(queue_name, state="new")
               if item.defer_until and item.id not in postponed_here]
    if not waiting:
        return False
    now = dt.datetime.now(dt.timezone.utc)
    delay = (min(waiting) - now).total_seconds()
    if delay > MAX_RETRY_WAIT_S:
        return False
    service.stop_event.wait(max(0.05, delay))
    return True


def _readable_deadline(ctx: Any, params: Any) -> Any:
    """The row's deadline for the queue; None when it cannot be read (the item then fails when claimed)."""
    from bastidor.actions.item_loop import item_deadline
    from bastidor.executor.errors import StepError

    try:
        return item_deadline(ctx, params)
    except StepError:
        return None


def refuse_secret_in_queue(row: Any, reference: Any) -> None:
    """The work queue keeps rows and references as they are (a bot needs the values): a row or reference that
    holds a secret, or a value computed from one, is refused rather than stored in clear."""
    from bastidor.executor.errors import StepError
    from bastidor.expr.taint import contains_taint

    if contains_taint(row) or contains_taint(reference):
        raise StepError("a work item's row and item_ref cannot hold a secret or a value computed from one: the "
                        "work queue would keep it in clear; read the secret inside the item's steps instead")


def _add_rows(ctx: Any, params: Any, rows: list, queue_name: str) -> int:
    from bastidor.queue import NewItem

    new_items = []
    for row in rows:
        ctx.set_variable(params.as_, row)
        reference = ctx.render(params.item_ref)
        refuse_secret_in_queue(row, reference)
        new_items.append(NewItem(reference=str(reference), data=encode_value(row),
                                 deadline=_readable_deadline(ctx, params)))
    result = ctx.state.service.queue.add_items(queue_name, new_items, max_attempts=params.max_attempts)
    already = list(result.already_processed)
    ctx.state.counters.already_processed += len(already)
    ctx.state.audit.event("items.added", queue=queue_name, added=len(result.added),
                          already_processed=already, already_queued=list(result.already_queued))
    return len(result.added)


def _process(ctx: Any, params: Any, claimed: Any) -> str:
    """Run one claimed item; its outcome goes to the queue first, then to the audit log and run store."""
    from bastidor.actions.item_loop import deadline_problem

    service = ctx.state.service
    row = decode_value(claimed.data)
    ctx.set_variable(params.as_, row)
    item = ItemState(ref=claimed.reference, index=claimed.id, data=row if isinstance(row, dict) else {"value": row},
                     attempt=claimed.attempts)
    record = lambda done: _record(service, claimed, done, params.retry_wait, ctx.state.masker)  # noqa: E731
    problem = deadline_problem(ctx, params)
    if problem is not None:
        skip_item(ctx, item, *problem, on_outcome=record)
        return item.status
    renew = lambda: service.queue.heartbeat_item(claimed.id, service.worker_id, service.item_lease_s)  # noqa: E731
    with Heartbeat(service.item_lease_s / 3, renew, name=f"item-{claimed.id}"):
        run_item(ctx, item, ctx.node.blocks["steps"], on_error="continue", on_outcome=record)
    return item.status


def _record(service: Any, claimed: Any, item: ItemState, retry_wait_ms: int, masker: Any) -> None:
    """The item's outcome in the queue: done, failed (retried later while attempts remain), put off, or
    handed back untouched when the run was interrupted in the middle of it."""
    reason = masker.mask_text(item.reason) if item.reason else None  # the queue keeps no secret either
    if item.status == "successful":
        service.queue.complete_item(claimed.id, service.worker_id)
    elif item.status == "postponed":
        _postpone(service, claimed, item.postponement, retry_wait_ms, masker)
    elif item.status == "interrupted":
        service.queue.release_item(claimed.id, service.worker_id)
    else:
        wait_s = retry_wait_ms / 1000 * 2 ** max(0, claimed.attempts - 1)
        service.queue.fail_item(claimed.id, service.worker_id, reason or "failed",
                                business=item.exception == "business", retry_in_s=wait_s)


def _postpone(service: Any, claimed: Any, postponement: Any, retry_wait_ms: int, masker: Any) -> None:
    """Put the item back in the queue until the flow's moment, but at least the loop's retry wait away: an
    item put off to a moment already past is not taken again at once, over and over."""
    earliest = dt.datetime.now(dt.timezone.utc) + dt.timedelta(milliseconds=retry_wait_ms)
    service.queue.postpone_item(claimed.id, service.worker_id, max(postponement.until, earliest),
                                reason=masker.mask_text(postponement.reason))
