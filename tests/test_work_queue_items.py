"""Work item contract: adding, claiming, outcomes, retries, deadlines and leases, on a driven clock.

Every test that takes `queue` runs on SQLite and on PostgreSQL (`tests/queue_backends.py`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bastidor.queue import Backoff, LeaseLost, NewItem, NotFound, QueueError
from queue_backends import queue, queue_database, queue_location  # noqa: F401  (fixtures: SQLite and PostgreSQL)

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
Q = "orders"


def at(seconds: float) -> datetime:
    """The driven clock: `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def add(queue, *references: str, **fields) -> list[str]:
    return queue.add_items(Q, [NewItem(ref, {"ref": ref}, **fields) for ref in references], now=T0).added


def transitions(queue, item_id: int) -> list[tuple]:
    return [(e.from_state, e.to_state, e.attempt, e.worker) for e in queue.history(item_id)]


def test_items_are_claimed_by_priority_then_oldest_first(queue):
    queue.add_items(Q, [NewItem("low-old")], now=at(0))
    queue.add_items(Q, [NewItem("high-new", priority=5), NewItem("low-new")], now=at(1))
    queue.add_items(Q, [NewItem("high-newer", priority=5)], now=at(2))
    claimed = [queue.claim_item(Q, "w", 60, now=at(3)).reference for _ in range(4)]
    assert claimed == ["high-new", "high-newer", "low-old", "low-new"]
    assert queue.claim_item(Q, "w", 60, now=at(3)) is None


def test_a_reference_is_added_once_and_repeats_are_reported_by_state(queue):
    assert add(queue, "A", "B", "C", "D") == ["A", "B", "C", "D"]
    done = queue.claim_item(Q, "w", 60, now=T0)
    queue.complete_item(done.id, "w", now=T0)
    failed = queue.claim_item(Q, "w", 60, now=T0)
    queue.fail_item(failed.id, "w", "out of stock", business=True, now=T0)
    queue.claim_item(Q, "w", 60, now=T0)
    result = queue.add_items(Q, [NewItem(r) for r in ("A", "B", "C", "D", "E", "E")], now=T0)
    assert result.added == ["E"]
    assert result.already_processed == ["A"]
    assert result.previously_failed == ["B"]
    assert result.already_queued == ["C", "D", "E"]
    assert len(queue.items(Q)) == 5


def test_the_same_reference_may_live_in_two_queues(queue):
    queue.add_items("invoices", [NewItem("A")], now=T0)
    assert add(queue, "A") == ["A"]
    assert queue.claim_item("invoices", "w", 60, now=T0).queue_name == "invoices"
    assert queue.claim_item("invoices", "w", 60, now=T0) is None


def test_completed_item_keeps_its_data_output_and_history(queue):
    queue.add_items(Q, [NewItem("A-1", {"qty": 2, "price": Decimal("10.10")})], now=T0)
    item = queue.claim_item(Q, "bot-1", 60, run_id="run-7", now=at(1))
    assert (item.state, item.attempts, item.lease_owner, item.lease_expires) == ("in_progress", 1, "bot-1", at(61))
    done = queue.complete_item(item.id, "bot-1", {"order_no": "SO-9"}, now=at(2))
    assert (done.state, done.output, done.run_id) == ("successful", {"order_no": "SO-9"}, "run-7")
    assert done.lease_owner is None
    assert queue.get_item(item.id).data == {"qty": 2, "price": "10.10"}
    assert transitions(queue, item.id) == [(None, "new", 0, None), ("new", "in_progress", 1, "bot-1"),
                                           ("in_progress", "successful", 1, "bot-1")]


def test_business_failure_is_final_and_never_retried(queue):
    add(queue, "A")
    item = queue.claim_item(Q, "w", 60, now=T0)
    failed = queue.fail_item(item.id, "w", "customer is blocked", business=True, now=at(1))
    assert (failed.state, failed.exception_kind, failed.reason) == ("failed", "business", "customer is blocked")
    assert queue.claim_item(Q, "w", 60, now=at(100_000)) is None
    assert queue.history(item.id)[-1].reason == "business exception: customer is blocked"


def test_a_person_can_send_a_failed_item_back_with_fresh_attempts_and_it_is_in_the_history(queue):
    add(queue, "A")
    item = queue.claim_item(Q, "w", 60, now=T0)
    queue.fail_item(item.id, "w", "customer is blocked", business=True, now=at(1))
    again = queue.requeue_item(item.id, "maria", note="customer unblocked", now=at(2))
    assert (again.state, again.attempts, again.reason, again.exception_kind) == ("new", 0, None, None)
    assert queue.history(item.id)[-1].reason == "requeued by maria: customer unblocked"
    assert queue.claim_item(Q, "w", 60, now=at(3)).attempts == 1


def test_an_item_requeued_after_its_deadline_passed_is_taken_again_and_its_history_says_so(queue):
    add(queue, "late", deadline=at(60))
    queue.reap_expired(now=at(61))
    [late] = queue.items(Q, state="failed")
    again = queue.requeue_item(late.id, "maria", note="customer still wants it", now=at(62))
    assert (again.state, again.deadline) == ("new", None)
    assert queue.history(late.id)[-1].reason == ("requeued by maria: customer still wants it (its deadline, "
                                                 "2026-11-27 10:01 UTC, no longer applies)")
    assert queue.claim_item(Q, "w", 60, now=at(63)).reference == "late"


def test_only_a_failed_item_can_be_requeued(queue):
    add(queue, "A")
    with pytest.raises(QueueError, match="is new, not failed"):
        queue.requeue_item(queue.items(Q)[0].id, "maria", now=at(1))


def test_application_failure_is_retried_with_backoff_until_max_attempts(queue):
    queue.add_items(Q, [NewItem("A")], max_attempts=3, now=T0)
    first = queue.claim_item(Q, "w", 60, now=T0)
    retried = queue.fail_item(first.id, "w", "portal timed out", business=False, now=at(1))
    assert (retried.state, retried.defer_until, retried.exception_kind) == ("new", at(11), "application")
    assert queue.claim_item(Q, "w", 60, now=at(10)) is None
    second = queue.claim_item(Q, "w", 60, now=at(11))
    assert queue.fail_item(second.id, "w", "portal timed out", business=False, now=at(12)).defer_until == at(32)
    third = queue.claim_item(Q, "w", 60, now=at(32))
    final = queue.fail_item(third.id, "w", "portal timed out", business=False, now=at(33))
    assert (final.state, final.attempts, final.exception_kind) == ("failed", 3, "application")
    assert [e.to_state for e in queue.history(first.id)].count("in_progress") == 3


def test_retry_in_s_overrides_the_backoff(queue):
    add(queue, "A")
    item = queue.claim_item(Q, "w", 60, now=T0)
    assert queue.fail_item(item.id, "w", "busy", business=False, retry_in_s=0, now=at(5)).defer_until == at(5)
    assert queue.claim_item(Q, "w", 60, now=at(5)).reference == "A"


def test_postponed_item_waits_for_its_time_and_keeps_its_attempt_count(queue):
    add(queue, "A")
    item = queue.claim_item(Q, "w", 60, now=T0)
    postponed = queue.postpone_item(item.id, "w", at(3600), reason="warehouse closed", now=at(1))
    assert (postponed.state, postponed.attempts, postponed.defer_until) == ("new", 0, at(3600))
    assert queue.claim_item(Q, "w", 60, now=at(3599)) is None
    assert queue.claim_item(Q, "w", 60, now=at(3600)).attempts == 1
    assert "warehouse closed" in queue.history(item.id)[2].reason


def test_released_item_goes_back_at_once_without_counting_the_attempt(queue):
    add(queue, "A")
    item = queue.claim_item(Q, "w", 60, now=T0)
    released = queue.release_item(item.id, "w", now=at(1))
    assert (released.state, released.attempts, released.lease_owner) == ("new", 0, None)
    assert queue.claim_item(Q, "w2", 60, now=at(1)).attempts == 1


def test_item_past_its_deadline_fails_when_next_claimed_or_reaped(queue):
    add(queue, "late", deadline=at(60))
    add(queue, "later", deadline=at(120))
    later_id = queue.items(Q)[1].id
    assert queue.claim_item("other-queue", "w", 60, now=at(61)) is None
    late = queue.items(Q, "failed")
    assert [(i.reference, i.reason) for i in late] == [("late", "deadline passed")]
    assert queue.reap_expired(now=at(121)).items_failed == [later_id]
    assert queue.counts(Q) == {"new": 0, "in_progress": 0, "successful": 0, "failed": 2}


def test_expired_lease_is_recorded_as_abandoned_then_handed_back(queue):
    add(queue, "A")
    item = queue.claim_item(Q, "w1", 30, now=T0)
    assert queue.reap_expired(now=at(30)).total == 0
    reaped = queue.reap_expired(now=at(31))
    assert reaped.items_requeued == [item.id]
    again = queue.claim_item(Q, "w2", 30, now=at(32))
    assert (again.id, again.attempts) == (item.id, 2)
    assert transitions(queue, item.id)[2:] == [("in_progress", "abandoned", 1, "w1"), ("abandoned", "new", 1, None),
                                               ("new", "in_progress", 2, "w2")]


def test_heartbeat_keeps_the_lease_past_its_first_expiry(queue):
    add(queue, "A")
    item = queue.claim_item(Q, "w", 30, now=T0)
    assert queue.heartbeat_item(item.id, "w", 30, now=at(20))
    assert queue.reap_expired(now=at(45)).total == 0
    assert queue.get_item(item.id).heartbeat_at == at(20)
    assert queue.complete_item(item.id, "w", now=at(46)).state == "successful"


def test_old_owner_of_a_reaped_lease_gets_lease_lost_and_records_nothing(queue):
    add(queue, "A")
    item = queue.claim_item(Q, "w1", 30, now=T0)
    queue.claim_item(Q, "w2", 30, now=at(31))
    with pytest.raises(LeaseLost, match=r"w1 no longer holds the lease on work item \d+ \(orders/A\).*leased by w2"):
        queue.complete_item(item.id, "w1", now=at(32))
    for call in (lambda: queue.fail_item(item.id, "w1", "x", business=True, now=at(32)),
                 lambda: queue.postpone_item(item.id, "w1", at(99), now=at(32)),
                 lambda: queue.release_item(item.id, "w1", now=at(32))):
        with pytest.raises(LeaseLost):
            call()
    assert not queue.heartbeat_item(item.id, "w1", 30, now=at(32))
    assert queue.get_item(item.id).lease_owner == "w2"
    assert queue.complete_item(item.id, "w2", now=at(33)).state == "successful"
    with pytest.raises(LeaseLost, match="it is successful"):
        queue.complete_item(item.id, "w2", now=at(34))


def test_an_outcome_repeated_with_the_same_time_is_recognised_as_done_and_recorded_once(queue):
    """What a bot does when it cannot tell whether its call reached the queue (a connection lost while
    committing): it repeats the call with the same `now`, and gets the row as it stands."""
    add(queue, "A", "B", "C")
    done, failed, retried = (queue.claim_item(Q, "w", 60, now=T0) for _ in range(3))
    queue.complete_item(done.id, "w", {"n": 1}, now=at(1))
    assert queue.complete_item(done.id, "w", {"n": 1}, now=at(1)).state == "successful"
    queue.fail_item(failed.id, "w", "blocked", business=True, now=at(2))
    assert queue.fail_item(failed.id, "w", "blocked", business=True, now=at(2)).state == "failed"
    queue.fail_item(retried.id, "w", "timeout", business=False, now=at(3))
    assert queue.fail_item(retried.id, "w", "timeout", business=False, now=at(3)).defer_until == at(13)
    for item in (done, failed, retried):
        assert len(queue.history(item.id)) == 3, item.reference
    with pytest.raises(LeaseLost):
        queue.complete_item(done.id, "w", now=at(4))
    with pytest.raises(LeaseLost):
        queue.complete_item(failed.id, "w", now=at(2))
    with pytest.raises(LeaseLost):
        queue.complete_item(done.id, "someone-else", now=at(1))


def test_leases_of_stopped_workers_are_handed_back_at_once_and_others_kept(queue):
    add(queue, "A", "B", "C")
    dead = queue.claim_item(Q, "killed-1", 600, now=T0)
    alive = queue.claim_item(Q, "alive", 600, now=T0)
    result = queue.abandon_leases(["killed-1", "killed-2"], reason="killed after the drain timeout", now=at(5))
    assert (result.items_requeued, result.items_failed) == ([dead.id], [])
    assert queue.get_item(alive.id).lease_owner == "alive"
    abandoned = queue.history(dead.id)[2]
    assert (abandoned.to_state, abandoned.attempt, abandoned.worker) == ("abandoned", 1, "killed-1")
    assert abandoned.reason.startswith("killed after the drain timeout (last heartbeat ")
    assert queue.claim_item(Q, "next", 60, now=at(6)).id == dead.id


def test_item_abandoned_on_its_last_attempt_fails_as_an_application_exception(queue):
    queue.add_items(Q, [NewItem("A")], max_attempts=1, now=T0)
    item = queue.claim_item(Q, "w", 30, now=T0)
    assert queue.reap_expired(now=at(31)).items_failed == [item.id]
    failed = queue.get_item(item.id)
    assert (failed.state, failed.exception_kind) == ("failed", "application")
    assert "abandoned on its last attempt (1 of 1)" in failed.reason


def test_abandoned_item_past_its_deadline_fails_instead_of_retrying(queue):
    add(queue, "A", deadline=at(40))
    item = queue.claim_item(Q, "w", 30, now=T0)
    queue.reap_expired(now=at(41))
    assert (queue.get_item(item.id).state, queue.get_item(item.id).reason) == ("failed", "deadline passed")


def test_counts_list_every_state_of_one_queue(queue):
    add(queue, "A", "B", "C")
    queue.add_items("invoices", [NewItem("X")], now=T0)
    queue.complete_item(queue.claim_item(Q, "w", 60, now=T0).id, "w", now=T0)
    queue.claim_item(Q, "w", 60, now=T0)
    assert queue.counts(Q) == {"new": 1, "in_progress": 1, "successful": 1, "failed": 0}
    assert [i.reference for i in queue.items(Q, "new")] == ["C"]


def test_unknown_item_ids_are_reported_as_not_found(queue):
    assert queue.get_item(999) is None
    with pytest.raises(NotFound, match="No work item has the id 999"):
        queue.complete_item(999, "w")


@pytest.mark.parametrize("call, message", [
    (lambda q: q.claim_item(Q, "w", 60, now=datetime(2026, 1, 1)), "has no time zone"),
    (lambda q: q.claim_item(Q, "w", 0, now=T0), "lease_s must be more than zero"),
    (lambda q: q.add_items(Q, [NewItem("")]), "reference must be a non-empty string"),
    (lambda q: q.add_items(Q, [NewItem("A")], max_attempts=0), "max_attempts must be a whole number"),
    (lambda q: q.add_items(Q, ["A"]), r"wrap each row in NewItem"),
])
def test_bad_arguments_are_refused_with_a_clear_message(queue, call, message):
    with pytest.raises(ValueError, match=message):
        call(queue)
    assert queue.counts(Q)["new"] == 0


def test_backoff_grows_by_its_factor_up_to_its_cap():
    backoff = Backoff(first_s=30, factor=2, max_s=100)
    assert [backoff.delay_s(n) for n in (1, 2, 3, 4, 500)] == [30, 60, 100, 100, 100]
    with pytest.raises(ValueError, match="factor >= 1"):
        Backoff(factor=0.5)
