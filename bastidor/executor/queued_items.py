"""Work items through the persistent queue: when a run belongs to the service, a top-level for_each
adds its rows to the flow's queue (each reference once, ever) and then claims items one at a time,
so several bots share the work and a crashed bot's item is picked up again after its lease."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bastidor.executor.errors import RunStopped
from bastidor.executor.items import run_item, skip_item
from bastidor.executor.state import ItemState
from bastidor.service.heartbeat import Heartbeat

def encode_value(value: Any) -> Any:
    """A row as JSON that keeps money exact and dates as dates."""
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    return value


def decode_value(value: Any) -> Any:
    """The inverse of `encode_value`."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("$decimal", "$date", "$datetime"):
            kind, text = next(iter(value.items()))
            return {"$decimal": Decimal, "$date": dt.date.fromisoformat,
                    "$datetime": dt.datetime.fromisoformat}[kind](text)
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def run_queued_items(ctx: Any, params: Any, rows: list) -> dict[str, int]:
    """Add the loop's rows to the queue, then process claimed items until none is left or the run stops."""
    service = ctx.state.service
    queue_name = ctx.state.flow.name
    added = _add_rows(ctx, params, rows, queue_name)
    processed, postponed_here = 0, set()
    while not service.stopping():
        claimed = service.queue.claim_item(queue_name, service.worker_id, service.item_lease_s)
        if claimed is None:
            if not _wait_for_retries(service, queue_name, postponed_here):
                break
            continue
        processed += 1
        if _process(ctx, params, claimed) == "postponed":
            postponed_here.add(claimed.id)
    return {"rows": len(rows), "added": added, "processed": processed}


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
    from bastidor.actions.control import item_deadline
    from bastidor.executor.errors import StepError

    try:
        return item_deadline(ctx, params)
    except StepError:
        return None


def _add_rows(ctx: Any, params: Any, rows: list, queue_name: str) -> int:
    from bastidor.queue import NewItem

    new_items = []
    for row in rows:
        ctx.set_variable(params.as_, row)
        new_items.append(NewItem(reference=str(ctx.render(params.item_ref)), data=encode_value(row),
                                 deadline=_readable_deadline(ctx, params)))
    result = ctx.state.service.queue.add_items(queue_name, new_items, max_attempts=params.max_attempts)
    already = list(result.already_processed)
    ctx.state.counters.already_processed += len(already)
    ctx.state.audit.event("items.added", queue=queue_name, added=len(result.added),
                          already_processed=already, already_queued=list(result.already_queued))
    return len(result.added)


def _process(ctx: Any, params: Any, claimed: Any) -> str:
    """Run one claimed item and record its outcome in the queue; returns the item's status."""
    from bastidor.actions.control import deadline_problem

    service = ctx.state.service
    row = decode_value(claimed.data)
    ctx.set_variable(params.as_, row)
    item = ItemState(ref=claimed.reference, index=claimed.id, data=row if isinstance(row, dict) else {"value": row},
                     attempt=claimed.attempts)
    problem = deadline_problem(ctx, params)
    if problem is not None:
        skip_item(ctx, item, *problem)
        _record(service, claimed, item, params.retry_wait, ctx.state.masker)
        return item.status
    renew = lambda: service.queue.heartbeat_item(claimed.id, service.worker_id, service.item_lease_s)  # noqa: E731
    with Heartbeat(service.item_lease_s / 3, renew, name=f"item-{claimed.id}"):
        try:
            run_item(ctx, item, ctx.node.blocks["steps"], on_error="continue")
        except RunStopped:
            _record(service, claimed, item, params.retry_wait, ctx.state.masker)
            raise
    _record(service, claimed, item, params.retry_wait, ctx.state.masker)
    return item.status


def _record(service: Any, claimed: Any, item: ItemState, retry_wait_ms: int, masker: Any) -> None:
    reason = masker.mask_text(item.reason) if item.reason else None  # the queue keeps no secret either
    if item.status == "successful":
        service.queue.complete_item(claimed.id, service.worker_id)
        return
    if item.status == "postponed":
        _postpone(service, claimed, item.postponement, retry_wait_ms, masker)
        return
    business = item.exception == "business"
    wait_s = retry_wait_ms / 1000 * 2 ** max(0, claimed.attempts - 1)
    service.queue.fail_item(claimed.id, service.worker_id, reason or "failed", business=business,
                            retry_in_s=wait_s)


def _postpone(service: Any, claimed: Any, postponement: Any, retry_wait_ms: int, masker: Any) -> None:
    """Put the item back in the queue until the flow's moment, but at least the loop's retry wait away: an
    item put off to a moment already past is not taken again at once, over and over."""
    earliest = dt.datetime.now(dt.timezone.utc) + dt.timedelta(milliseconds=retry_wait_ms)
    service.queue.postpone_item(claimed.id, service.worker_id, max(postponement.until, earliest),
                                reason=masker.mask_text(postponement.reason))
