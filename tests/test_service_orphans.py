"""Runs of bots that stop heartbeating: the service ends them as crashed, and a bot that was only slow
finishes its run afterwards without dying, its own outcome being the one that stays. In this process,
with a real work queue and run store; no browser."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from bastidor.audit import AuditLog, SecretMasker, verify_audit_log
from bastidor.queue import open_work_queue
from bastidor.service.orphans import close_or_keep
from bastidor.service.worker import Worker
from bastidor.store import open_run_store
from service_support import wait_until
from webhook_support import webhook  # noqa: F401  (the fixture)

SLOW_FLOW = "name: Slow\nsteps:\n  - wait: 2s\n  - log: done\n"


def service_audit(tmp_path: Path) -> AuditLog:
    return AuditLog.open(tmp_path / "service.jsonl", run_id="svc", flow="bastidor-service", flow_sha256="0" * 64,
                         masker=SecretMasker())


def run_status(home: Path, run_id: str) -> str | None:
    with open_run_store(home / "runs.db") as store:
        run = store.get_run(run_id)
    return run.status if run else None



def test_a_slow_bot_whose_run_was_ended_as_crashed_finishes_it_without_dying_and_its_outcome_stays(tmp_path):
    home = tmp_path / "home"
    (tmp_path / "slow.yaml").write_text(SLOW_FLOW, encoding="utf-8")
    queue = open_work_queue(home / "queue.db")
    queue.enqueue_run("manual:1", str(tmp_path / "slow.yaml"), {}, requested_by="ana")
    worker = Worker("bot-slow-1-w1", home, queue, lease_s=30)
    request = queue.claim_run(worker.worker_id, 30)
    outcome: list[str] = []
    bot = threading.Thread(target=lambda: outcome.append(worker.execute(request)))
    bot.start()
    assert wait_until(lambda: (queue.get_run(request.id).run_id or "") and
                    run_status(home, queue.get_run(request.id).run_id) == "running")
    run_id = queue.get_run(request.id).run_id
    reaped = queue.reap_expired(now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5))  # as if it hung
    audit = service_audit(tmp_path)
    assert close_or_keep(home, reaped.orphaned_runs, "its lease expired", audit) == []
    assert run_status(home, run_id) == "crashed"
    bot.join(timeout=60)
    assert outcome == ["done"], "the bot went on after losing its lease, instead of dying on it"
    assert run_status(home, run_id) == "succeeded", "the bot's own final update wins"
    assert queue.get_run(request.id).state == "queued", "the queue keeps the request the service handed back"
    audit.close()
    queue.close()


def test_runs_that_cannot_be_ended_now_are_kept_for_the_next_check_and_the_service_goes_on(tmp_path):
    home = tmp_path / "home"
    (home / "runs.db").mkdir(parents=True)  # a run store that cannot be opened
    audit = service_audit(tmp_path)
    assert close_or_keep(home, ["run-a"], "its lease expired", audit) == ["run-a"]
    audit.event("run.finished", status="stopped")
    audit.close()
    assert '"event":"runs.orphaned_not_ended"' in (tmp_path / "service.jsonl").read_text()
    assert verify_audit_log(tmp_path / "service.jsonl").ok


def test_a_run_ended_as_crashed_for_its_dead_bot_is_notified_as_a_failed_run(tmp_path, monkeypatch, webhook):
    from bastidor.service.orphans import close_orphaned_runs
    from bastidor.store import RunRecord

    (tmp_path / "notifications.yaml").write_text(
        f"channels:\n  ops:\n    type: webhook\n    url: {webhook.url}/hook\n"
        "rules:\n  - events: [run_failed]\n    channels: [ops]\n", encoding="utf-8")
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(tmp_path / "notifications.yaml"))
    home = tmp_path / "home"
    with open_run_store(home / "runs.db") as store:
        store.create_run(RunRecord(run_id="run-dead", flow_name="Order entry", flow_path="o.yaml",
                                   flow_sha256="0" * 64))
    audit = service_audit(tmp_path)
    assert close_orphaned_runs(home, ["run-dead"], "its lease expired", audit) == ["run-dead"]
    assert wait_until(lambda: bool(webhook.posts), timeout=20)
    audit.close()
    [notice] = [post.body for post in webhook.posts]
    assert (notice["event"], notice["run_id"], notice["status"]) == ("run_failed", "run-dead", "crashed")
    assert "its bot stopped" in notice["error"]
