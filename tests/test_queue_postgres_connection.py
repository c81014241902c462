"""The PostgreSQL work queue through lost connections: a small TCP proxy on 127.0.0.1 stands between the
queue and the real PostgreSQL, and the test cuts and restores it (the server itself is never restarted).

The proxy is `TcpProxy` (tests/tcp_proxy.py). What a bot gets: a cut shorter than the reconnect budget is ridden out; a longer one ends in one clear line
naming the database (password hidden); and a COMMIT whose reply never came back is neither doubled nor
reported done when it did not happen.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from bastidor.queue import (
    LeaseLost,
    NewItem,
    OutcomeUnknown,
    PostgresWorkQueue,
    QueueError,
)
from tcp_proxy import TcpProxy, proxy  # noqa: F401  (proxy: a fixture)

Q = "orders"
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
WAIT_S = 30


@pytest.fixture
def proxied_url(pg_url, proxy) -> str:
    """The test database's URL through the proxy, with a password (trust authentication ignores it)."""
    return proxy.url_for(pg_url, password="s3cret-pw")


def history(queue: PostgresWorkQueue, item_id: int) -> list[tuple]:
    return [(event.from_state, event.to_state, event.worker) for event in queue.history(item_id)]


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {WAIT_S} s"
        time.sleep(0.02)


def restore_once_refused(proxy: TcpProxy, attempts: int) -> threading.Thread:
    """Restore the cut proxy (in the background) once the queue has knocked `attempts` times."""
    def restore() -> None:
        wait_until(lambda: proxy.turned_away >= attempts, f"{attempts} refused connection attempts")
        proxy.restore()

    thread = threading.Thread(target=restore, daemon=True)
    thread.start()
    return thread


def test_a_claim_made_while_the_database_is_cut_off_waits_and_succeeds_once_it_is_back(proxy, proxied_url):
    with PostgresWorkQueue(proxied_url, reconnect_s=WAIT_S) as queue:
        queue.add_items(Q, [NewItem("ORD-1")])
        proxy.cut()
        claimed: list = []
        claimer = threading.Thread(target=lambda: claimed.append(queue.claim_item(Q, "bot-1", 60)))
        claimer.start()
        wait_until(lambda: proxy.turned_away >= 2, "two refused connection attempts")
        assert claimer.is_alive(), "the claim must wait for the database, not fail"
        proxy.restore()
        claimer.join(WAIT_S)
        assert claimed[0].reference == "ORD-1"
        assert queue.complete_item(claimed[0].id, "bot-1").state == "successful"


def test_a_longer_outage_ends_in_one_line_naming_the_database_without_its_password(proxy, proxied_url):
    with PostgresWorkQueue(proxied_url, reconnect_s=1) as queue:
        proxy.cut()
        with pytest.raises(QueueError) as raised:
            queue.counts(Q)
    message = str(raised.value)
    assert "\n" not in message and "s3cret-pw" not in message and "Traceback" not in message
    assert f"postgres:***@127.0.0.1:{proxy.port}/" in message
    assert "cannot be reached" in message and "gave up after 1 s" in message and "PostgreSQL is running" in message


def test_a_completion_whose_commit_reply_was_lost_is_recorded_once_and_reported_done(proxy, proxied_url):
    with PostgresWorkQueue(proxied_url, reconnect_s=WAIT_S) as queue:
        queue.add_items(Q, [NewItem("ORD-1")])
        item = queue.claim_item(Q, "bot-1", 60)
        proxy.lose_next_commit_reply()
        done = queue.complete_item(item.id, "bot-1", {"order_no": "SO-1"})
        assert proxy.traps_sprung == 1, "the proxy never saw the COMMIT"
        assert (done.state, done.output) == ("successful", {"order_no": "SO-1"})
        assert history(queue, item.id) == [(None, "new", None), ("new", "in_progress", "bot-1"),
                                           ("in_progress", "successful", "bot-1")]


def test_a_completion_whose_commit_never_arrived_is_made_again_and_recorded_once(proxy, proxied_url):
    with PostgresWorkQueue(proxied_url, reconnect_s=WAIT_S) as queue:
        queue.add_items(Q, [NewItem("ORD-1")])
        item = queue.claim_item(Q, "bot-1", 60)
        proxy.drop_next_commit()
        failed = queue.fail_item(item.id, "bot-1", "customer blocked", business=True)
        assert proxy.traps_sprung == 1, "the proxy never saw the COMMIT"
        assert (failed.state, failed.exception_kind) == ("failed", "business")
        assert [to for _, to, _ in history(queue, item.id)] == ["new", "in_progress", "failed"]


def test_a_claim_and_an_add_whose_commit_replies_were_lost_are_neither_lost_nor_doubled(proxy, proxied_url):
    with PostgresWorkQueue(proxied_url, reconnect_s=WAIT_S) as queue:
        proxy.lose_next_commit_reply()
        assert queue.add_items(Q, [NewItem("ORD-1"), NewItem("ORD-2")]).added == ["ORD-1", "ORD-2"]
        proxy.lose_next_commit_reply()
        claimed = queue.claim_item(Q, "bot-1", 60)
        assert proxy.traps_sprung == 2
        assert queue.counts(Q) == {"new": 1, "in_progress": 1, "successful": 0, "failed": 0}
        assert queue.get_item(claimed.id).lease_owner == "bot-1"
        proxy.lose_next_commit_reply()
        assert queue.enqueue_run("manual:1", "flows/demo.yaml", {}, requested_by="ana"), "reported as a new request"
        proxy.lose_next_commit_reply()
        request = queue.claim_run("bot-1", 60)
        assert [(r.id, r.state, r.attempts) for r in queue.list_runs()] == [(request.id, "running", 1)]


def test_when_the_commit_stays_in_doubt_the_bot_is_told_and_repeating_the_same_outcome_is_recognised(
        proxy, proxied_url):
    with PostgresWorkQueue(proxied_url, reconnect_s=1) as queue:
        queue.add_items(Q, [NewItem("ORD-1")])
        item = queue.claim_item(Q, "bot-1", 60)
        moment = datetime.now(timezone.utc)
        proxy.lose_next_commit_reply(stay_cut=True)
        with pytest.raises(OutcomeUnknown, match="whether the change was recorded is unknown"):
            queue.complete_item(item.id, "bot-1", now=moment)
        proxy.restore()
        assert queue.complete_item(item.id, "bot-1", now=moment).state == "successful"
        with pytest.raises(LeaseLost, match="it is successful"):
            queue.complete_item(item.id, "bot-1", now=moment + timedelta(seconds=1))
        assert [to for _, to, _ in history(queue, item.id)] == ["new", "in_progress", "successful"]


def test_a_bot_keeps_its_item_through_a_short_cut_and_its_heartbeat_and_outcome_still_count(proxy, proxied_url):
    with PostgresWorkQueue(proxied_url, reconnect_s=WAIT_S) as queue:
        queue.add_items(Q, [NewItem("ORD-1")])
        item = queue.claim_item(Q, "bot-1", 60)
        proxy.cut()
        restorer = restore_once_refused(proxy, 2)
        assert queue.heartbeat_item(item.id, "bot-1", 60)
        restorer.join(WAIT_S)
        assert queue.complete_item(item.id, "bot-1").state == "successful"
