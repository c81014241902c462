"""The scheduler only enqueues: one run per fire time, missed fires caught up or recorded, overlap honoured.

Uses a real SQLite work queue, real schedules files and an injected clock; no waiting.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from pathlib import Path

import pytest

from bastidor.audit import AuditLog, SecretMasker
from bastidor.queue import open_work_queue
from bastidor.schedule import load_schedules
from bastidor.schedule.backlog import Fire
from bastidor.service.scheduler import FireRecorder, Scheduler
from service_support import wait_until
from webhook_support import webhook  # noqa: F401  (the fixture)

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 7, 9, 0, tzinfo=UTC)  # a Wednesday


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def setup(tmp_path: Path):
    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(
        "schedules:\n  - id: job\n    flow: tiny.yaml\n    trigger: {cron: '*/5 * * * *'}\n"
        "    timezone: UTC\n    misfire_grace: 6m\n    overlap: allow\n", encoding="utf-8")
    schedule = load_schedules(tmp_path / "schedules.yaml").by_id["job"]
    queue = open_work_queue(tmp_path / "queue.db")
    audit = AuditLog.open(tmp_path / "service.jsonl", run_id="svc", flow="service", flow_sha256="0" * 64,
                          masker=SecretMasker())
    clock = Clock(T0)
    yield schedule, queue, FireRecorder(queue, audit, clock), clock
    audit.close()
    queue.close()


def states(queue) -> dict[str, str]:
    return {run.key: run.state for run in queue.list_runs(schedule_id="job", limit=1000)}


def test_the_same_fire_time_enqueues_one_run_however_often_it_fires(setup):
    schedule, queue, recorder, _ = setup
    assert recorder.fire(schedule, T0) == "queued"
    assert recorder.fire(schedule, T0) == "duplicate"
    assert FireRecorder(queue, recorder.audit, recorder.clock).fire(schedule, T0) == "duplicate"
    assert states(queue) == {"job@2026-01-07T09:00:00Z": "queued"}


def test_overlap_skip_records_the_fire_as_skipped_while_a_run_is_queued(setup):
    schedule, queue, recorder, _ = setup
    skip = dataclasses.replace(schedule, overlap="skip")
    recorder.fire(skip, T0)
    assert recorder.fire(skip, T0 + dt.timedelta(minutes=5)) == "skipped"
    assert states(queue)["job@2026-01-07T09:05:00Z"] == "skipped"


def test_after_downtime_the_latest_fire_within_grace_runs_once_and_older_ones_are_missed(setup):
    schedule, queue, recorder, clock = setup
    recorder.fire(schedule, T0)
    clock.now = T0 + dt.timedelta(minutes=21)  # 09:05..09:20 were due while no scheduler ran
    Scheduler(recorder, clock).catch_up(schedule)
    assert states(queue) == {
        "job@2026-01-07T09:00:00Z": "queued",
        "job@2026-01-07T09:05:00Z": "missed",
        "job@2026-01-07T09:10:00Z": "missed",
        "job@2026-01-07T09:15:00Z": "skipped",  # within the grace: coalesced into 09:20
        "job@2026-01-07T09:20:00Z": "queued",
    }


def test_catching_up_twice_never_adds_a_second_run(setup):
    schedule, queue, recorder, clock = setup
    recorder.fire(schedule, T0)
    clock.now = T0 + dt.timedelta(minutes=11)
    Scheduler(recorder, clock).catch_up(schedule)
    Scheduler(recorder, clock).catch_up(schedule)
    queued = sorted(key for key, state in states(queue).items() if state == "queued")
    assert queued == ["job@2026-01-07T09:00:00Z", "job@2026-01-07T09:10:00Z"]


def test_every_fire_is_audited_with_its_key(setup, tmp_path):
    schedule, queue, recorder, _ = setup
    recorder.fire(schedule, T0)
    recorder.missed(schedule, T0 - dt.timedelta(hours=1))
    text = (tmp_path / "service.jsonl").read_text()
    assert '"event":"schedule.fired"' in text and '"state":"missed"' in text
    assert '"key":"job@2026-01-07T09:00:00Z"' in text


def test_missed_and_overlap_skipped_fires_raise_a_misfire_alert_once_and_runs_do_not(setup):
    schedule, queue, recorder, _ = setup
    alerts = []
    recorder.on_misfire = lambda schedule, fire_time, why, detail: alerts.append((fire_time, why, detail))
    skip = dataclasses.replace(schedule, overlap="skip")
    recorder.fire(skip, T0)
    recorder.fire(skip, T0 + dt.timedelta(minutes=5))
    recorder.missed(schedule, T0 - dt.timedelta(minutes=30))
    recorder.missed(schedule, T0 - dt.timedelta(minutes=30))
    assert [(fire_time, why) for fire_time, why, _ in alerts] == [
        (T0 + dt.timedelta(minutes=5), "skipped"), (T0 - dt.timedelta(minutes=30), "missed")]
    assert "overlap policy skip" in alerts[0][2] and "misfire grace" in alerts[1][2]


def test_a_misfire_alert_reaches_the_webhook_and_the_service_audit_log(setup, tmp_path, monkeypatch, webhook):
    from bastidor.service.alerts import misfire_alerter

    (tmp_path / "notifications.yaml").write_text(
        f"channels:\n  ops:\n    type: webhook\n    url: {webhook.url}/hook\n"
        "rules:\n  - events: [schedule_misfire]\n    channels: [ops]\n", encoding="utf-8")
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(tmp_path / "notifications.yaml"))
    schedule, _, recorder, _ = setup
    alerter = misfire_alerter(tmp_path / "home", recorder.audit)
    recorder.on_misfire = alerter
    recorder.missed(schedule, T0 - dt.timedelta(minutes=30))
    alerter.close()
    assert [(post.body["event"], post.body["schedule_id"], post.body["flow"]) for post in webhook.posts] == [
        ("schedule_misfire", "job", "Tiny")]
    assert '"event":"notification.sent"' in (tmp_path / "service.jsonl").read_text()


def test_an_alert_that_cannot_be_raised_never_stops_the_fire_from_being_recorded(setup, tmp_path):
    schedule, queue, recorder, _ = setup

    def broken_alert(*_):
        raise RuntimeError("can't start new thread")

    recorder.on_misfire = broken_alert
    assert recorder.missed(schedule, T0 - dt.timedelta(minutes=30)) == "missed"
    assert states(queue) == {"job@2026-01-07T08:30:00Z": "missed"}
    assert '"event":"schedule.alert_failed"' in (tmp_path / "service.jsonl").read_text()


class FailsOnce:
    """The work queue, except that its first `record_fires` fails as a broken disk would."""

    def __init__(self, queue):
        self.queue = queue
        self.failed = threading.Event()

    def __getattr__(self, name):
        return getattr(self.queue, name)

    def record_fires(self, *args, **kwargs):
        if not self.failed.is_set():
            self.failed.set()
            raise OSError("disk I/O error")
        return self.queue.record_fires(*args, **kwargs)


def test_a_fire_that_cannot_be_recorded_is_audited_and_the_next_fires_are_still_recorded(setup, tmp_path):
    schedule, queue, recorder, clock = setup
    scheduler = Scheduler(FireRecorder(FailsOnce(queue), recorder.audit, clock), clock)
    scheduler.start(load_schedules(tmp_path / "schedules.yaml"))
    scheduler.writer.put(Fire(schedule, T0))
    assert scheduler.recorder.queue.failed.wait(timeout=30)
    scheduler.writer.put(Fire(schedule, T0 + dt.timedelta(minutes=5)))
    assert wait_until(lambda: states(queue) == {"job@2026-01-07T09:05:00Z": "queued"})
    scheduler.shutdown()
    assert '"event":"schedule.fire_failed"' in (tmp_path / "service.jsonl").read_text()



class Hook:
    """A real webhook receiver on 127.0.0.1 that keeps the JSON it gets; answers after `delay_s`."""

    def __init__(self, delay_s: float = 0.0):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's hook name)
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                threading.Event().wait(delay_s)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def configure(self, folder: Path, monkeypatch) -> None:
        """A notifications file sending misfires to this receiver, named by the environment."""
        (folder / "notifications.yaml").write_text(
            f"channels:\n  ops:\n    type: webhook\n    url: http://127.0.0.1:{self.server.server_port}/hook\n"
            "rules:\n  - events: [schedule_misfire]\n    channels: [ops]\n", encoding="utf-8")
        monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(folder / "notifications.yaml"))


def audit_events(tmp_path: Path) -> list[str]:
    import json

    return [json.loads(line)["event"] for line in (tmp_path / "service.jsonl").read_text().splitlines()]


def test_after_days_of_downtime_the_missed_fires_of_a_schedule_come_in_one_message(setup, tmp_path, monkeypatch):
    from bastidor.service.alerts import misfire_alerter

    hook = Hook()
    hook.configure(tmp_path, monkeypatch)
    schedule, queue, recorder, clock = setup
    recorder.fire(schedule, T0)
    recorder.on_misfire = alerter = misfire_alerter(tmp_path / "home", recorder.audit)
    clock.now = T0 + dt.timedelta(days=2)
    Scheduler(recorder, clock).catch_up(schedule)
    alerter.close()
    hook.server.shutdown()
    missed = [state for state in states(queue).values() if state == "missed"]
    assert len(missed) > 500
    [body] = hook.received
    assert (body["why"], body["fire_time"]) == ("missed", "2026-01-07T09:05:00+00:00")
    assert f"{len(missed)} fire times up to 2026-01-09" in body["detail"]
    assert audit_events(tmp_path).count("notification.sent") == 1


def test_an_alert_still_on_its_way_at_shutdown_writes_nothing_after_the_service_log_ends(setup, tmp_path,
                                                                                         monkeypatch):
    from bastidor.audit import verify_audit_log
    from bastidor.service.alerts import misfire_alerter

    hook = Hook(delay_s=1.5)
    hook.configure(tmp_path, monkeypatch)
    schedule, _, recorder, _ = setup
    recorder.on_misfire = alerter = misfire_alerter(tmp_path / "home", recorder.audit)
    recorder.missed(schedule, T0 - dt.timedelta(minutes=30))
    alerter.close(timeout_s=0.1)
    recorder.audit.event("run.finished", status="stopped")
    alerter._thread.join(timeout=30)
    hook.server.shutdown()
    assert len(hook.received) == 1 and audit_events(tmp_path)[-1] == "run.finished"
    recorder.audit.close()
    assert verify_audit_log(tmp_path / "service.jsonl").ok
