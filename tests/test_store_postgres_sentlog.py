"""The notifications sent-log in the shared database: bots on every machine share it, so an event notified by
one machine is not notified again by another, and a claim whose COMMIT went unanswered still counts as the
claimant's own (sent once, not lost)."""

from __future__ import annotations

from bastidor.notify.sentlog import SentLog
from bastidor.store.reconnect import ReconnectPolicy
from tcp_proxy import proxy  # noqa: F401  (a fixture)


def test_an_event_claimed_on_one_machine_is_a_repeat_on_another(tmp_path, pg_url, monkeypatch):
    monkeypatch.setenv("BASTIDOR_DATABASE_URL", pg_url)
    machine_b, machine_c = SentLog(tmp_path / "B"), SentLog(tmp_path / "C")
    assert machine_b.claim("run-1:failed", "ops-mail", "run.failed")
    assert not machine_c.claim("run-1:failed", "ops-mail", "run.failed")
    machine_b.release("run-1:failed", "ops-mail")  # its delivery failed: the next occurrence is tried again
    assert machine_c.claim("run-1:failed", "ops-mail", "run.failed")
    assert not (tmp_path / "B" / "notifications.db").exists()
    machine_b.close()
    machine_c.close()


def test_a_claim_whose_commit_went_unanswered_is_still_the_claimants(tmp_path, pg_url, proxy, monkeypatch):  # noqa: F811
    monkeypatch.setenv("BASTIDOR_DATABASE_URL", proxy.url_for(pg_url))
    log = SentLog(tmp_path / "B", reconnect=ReconnectPolicy(give_up_after_s=30, first_wait_s=0.05))
    proxy.lose_next_commit_reply()
    assert log.claim("run-1:failed", "ops-mail", "run.failed"), "the claim was committed: it is ours to send"
    assert proxy.traps_sprung == 1
    assert not log.claim("run-1:failed", "ops-mail", "run.failed"), "a second claim is a repeat"
    log.close()
