"""Notifications at the end of a run, called by the executor before the audit log is closed.

`run_failed` when the run failed or crashed, one `new_exception` per item a business exception
stopped in this run (the first `max_exceptions_per_run` of them; the rest in one summary message), and
one `target_missed` per goal of the flow (`goals:`) that is missed over the last 30 days once this run's
items are counted (sent once per flow, goal and day; judged only when a rule asks for it). Each delivery
is written to the run's audit log (`notification.sent` or `notification.failed` with the masked reason).
Nothing here can fail or change the run: with no notifications file it does nothing, and every problem
becomes a `notification.failed` record.
"""

from __future__ import annotations

from typing import Any

from bastidor.notify.delivery import Delivery
from bastidor.notify.events import (DEFAULT_MAX_EXCEPTIONS, Event, MoreExceptions, NewException, RunFailed,
                                    TargetMissed, utc_now)

RUN_END = "run_end"
ALL_CHANNELS = "(all channels)"


def notify_run_end(state: Any, status: str, error_text: str | None) -> None:
    """Send the notifications for the run in `state` (a RunState) that ended with `status`; never raises."""
    try:
        deliveries = _send(state, status, error_text)
    except Exception as error:  # a notification problem must never fail or crash the run
        deliveries = [Delivery(ALL_CHANNELS, RUN_END, "failed", reason=state.masker.mask_exception(error))]
    _record(state, deliveries)


def _send(state: Any, status: str, error_text: str | None) -> list[Delivery]:
    from bastidor.notify.api import configuration_failure
    from bastidor.notify.notifier import load_notifier
    from bastidor.secrets import default_secrets

    try:
        notifier = load_notifier(home=state.run_dir.parents[1], secrets=default_secrets(extra=state.secrets))
    except Exception as error:  # a broken or missing file is reported in the audit log
        return [configuration_failure(RUN_END, error)]
    if not notifier.enabled:
        return []
    limit = notifier.settings.max_exceptions_per_run
    deliveries = [delivery for event in run_events(state, status, error_text, limit)
                  for delivery in notifier.send(event, state.masker)]
    if notifier.settings.wants(TargetMissed.kind, state.flow.name):
        deliveries += _send_missed_goals(state, notifier)
    return deliveries


def _send_missed_goals(state: Any, notifier: Any) -> list[Delivery]:
    """The missed goals' deliveries; goals that cannot be judged are one failed delivery, never an error."""
    try:
        events = missed_goal_events(state)
    except Exception as error:  # the run's other notifications have gone; this one is reported, not raised
        reason = f"the flow's goals could not be judged: {state.masker.mask_exception(error)}"
        return [Delivery(ALL_CHANNELS, TargetMissed.kind, "failed", reason=reason)]
    return [delivery for event in events for delivery in notifier.send(event, state.masker)]


def run_events(state: Any, status: str, error_text: str | None,
               max_exceptions: int = DEFAULT_MAX_EXCEPTIONS) -> list[Event]:
    """The events of a finished run: run_failed (failed or crashed) and its business exceptions, of
    which the first `max_exceptions` go one by one and the rest in one `MoreExceptions`."""
    places = {"report_path": str(state.run_dir / "report.html"), "audit_path": str(state.audit.path)}
    flow, run_id = state.flow.name, state.run_id
    events: list[Event] = []
    if status in ("failed", "crashed"):
        counters = state.counters
        run = state.store.get_run(run_id)
        events.append(RunFailed(
            flow=flow, run_id=run_id, status=status, started_at=run.started_at if run else None,
            items_total=counters.items_total, items_succeeded=counters.items_succeeded,
            items_failed=counters.items_failed, error=error_text, failures=tuple(counters.failures), **places))
    return events + _exception_events(state, places, max_exceptions)


def _exception_events(state: Any, places: dict[str, str], max_exceptions: int) -> list[Event]:
    """One NewException per business exception of the run, up to `max_exceptions`, then one MoreExceptions."""
    flow, run_id = state.flow.name, state.run_id
    exceptions = [NewException(flow=flow, run_id=run_id, item_ref=item.item_ref,
                               reason=item.reason or "no reason given",
                               occurred_at=item.ended_at or utc_now(), **places)
                  for item in state.store.list_items(run_id)
                  if item.status == "failed" and item.exception == "business"]
    rest = exceptions[max_exceptions:]
    if not rest:
        return list(exceptions)
    summary = MoreExceptions(flow=flow, run_id=run_id, items=tuple((e.item_ref, e.reason) for e in rest),
                             sent=max_exceptions, **places)
    return [*exceptions[:max_exceptions], summary]


def missed_goal_events(state: Any) -> list[Event]:
    """A `target_missed` event for each goal of the flow that its items over the last 30 days miss."""
    if state.flow.header.goals is None:
        return []
    from bastidor.console.data.goals import evaluate_goals

    return [TargetMissed(flow=result.flow, target=result.label, actual=result.actual_text,
                         goal=result.target_text, detail=f"judged on the last 30 days, after run {state.run_id}")
            for result in evaluate_goals(state.store, state.flow) if result.missed]


def _record(state: Any, deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        if delivery.status == "duplicate":
            continue
        fields = {"channel": delivery.channel, "notification": delivery.event, "attempts": delivery.attempts}
        if delivery.failed:
            fields["reason"] = state.masker.mask_text(delivery.reason or "unknown")
        try:
            state.audit.event(f"notification.{delivery.status}", **fields)
        except Exception:  # the audit log itself broke: closing it stops the run as crashed
            return
