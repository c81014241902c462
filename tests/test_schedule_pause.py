"""Pausing a schedule: its fires are recorded as skipped ("paused by ...") instead of queued, a running
scheduler honours a pause made elsewhere without a restart, and `schedules pause/resume` audit who asked.

Uses a real work queue and pause store, real schedules files and an injected clock; one test runs the
real APScheduler with a one-second interval. The tests about storing pauses run on SQLite and on PostgreSQL
(`tests/queue_backends.py`); the command-line tests use a home folder's SQLite files.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from bastidor.audit import AuditLog, SecretMasker, verify_audit_log
from bastidor.cli.main import main
from bastidor.queue import open_work_queue
from bastidor.schedule import load_schedules
from bastidor.service.pauses import AlreadyPaused, open_schedule_pauses
from bastidor.service.scheduler import FireRecorder, Scheduler
from queue_backends import queue_database, queue_location  # noqa: F401  (fixtures: SQLite and PostgreSQL)

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 7, 9, 0, tzinfo=UTC)  # a Wednesday
SCHEDULES = ("schedules:\n  - id: job\n    flow: tiny.yaml\n    trigger: {cron: '*/5 * * * *'}\n"
             "    timezone: UTC\n    misfire_grace: 6m\n    overlap: allow\n"
             "  - id: quick\n    flow: tiny.yaml\n    trigger: {interval: 1s}\n    timezone: UTC\n"
             "    overlap: allow\n")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(SCHEDULES, encoding="utf-8")
    return tmp_path


@pytest.fixture
def pauses_at(home: Path, queue_location):
    """Where the queue and its pauses live: home's queue.db, or the PostgreSQL database."""
    return home / "queue.db" if isinstance(queue_location, Path) else queue_location


@pytest.fixture
def service(home: Path, pauses_at):
    """The queue, an audit log and a fire recorder built the way `serve` builds them (no pause store given)."""
    queue = open_work_queue(pauses_at)
    audit = AuditLog.open(home / "service.jsonl", run_id="svc", flow="service", flow_sha256="0" * 64,
                          masker=SecretMasker())
    clock = Clock(T0)
    yield queue, FireRecorder(queue, audit, clock), clock
    audit.close()
    queue.close()


def schedule(home: Path, schedule_id: str = "job"):
    return load_schedules(home / "schedules.yaml").by_id[schedule_id]


def requests(queue, schedule_id: str = "job") -> dict[str, tuple[str, str | None]]:
    return {run.key: (run.state, run.error) for run in queue.list_runs(schedule_id=schedule_id, limit=1000)}


def test_a_paused_schedule_fire_is_skipped_with_who_paused_it_and_why(home, service, pauses_at):
    queue, recorder, _ = service
    open_schedule_pauses(pauses_at).pause("job", "maria", note="portal maintenance until 14:00")
    assert recorder.fire(schedule(home), T0) == "skipped"
    reason = "paused by maria: portal maintenance until 14:00"
    assert requests(queue) == {"job@2026-01-07T09:00:00Z": ("skipped", reason)}
    history = queue.run_history(queue.list_runs(schedule_id="job")[0].id)
    assert [(event.to_state, event.reason) for event in history] == [("skipped", reason)]


def test_the_service_audit_log_records_the_skipped_fire_with_the_pause(home, service, pauses_at):
    _, recorder, _ = service
    open_schedule_pauses(pauses_at).pause("job", "maria")
    recorder.fire(schedule(home), T0)
    records = [json.loads(line) for line in (home / "service.jsonl").read_text().splitlines()]
    fired = [record for record in records if record["event"] == "schedule.fired"]
    assert [(record["state"], record["reason"]) for record in fired] == [("skipped", "paused by maria")]


def test_a_pause_and_a_resume_made_by_another_process_apply_at_the_next_fire(home, service, pauses_at):
    queue, recorder, _ = service
    console = open_schedule_pauses(pauses_at)  # its own connection, as the console's process has
    assert recorder.fire(schedule(home), T0) == "queued"
    console.pause("job", "maria")
    assert recorder.fire(schedule(home), T0 + dt.timedelta(minutes=5)) == "skipped"
    console.resume("job")
    assert recorder.fire(schedule(home), T0 + dt.timedelta(minutes=10)) == "queued"
    assert [state for state, _ in requests(queue).values()] == ["queued", "skipped", "queued"]


def test_pausing_one_schedule_leaves_the_others_running(home, service, pauses_at):
    queue, recorder, _ = service
    open_schedule_pauses(pauses_at).pause("job", "maria")
    assert recorder.fire(schedule(home, "quick"), T0) == "queued"


def test_fires_caught_up_after_downtime_while_paused_never_queue_a_run(home, service, pauses_at):
    queue, recorder, clock = service
    recorder.fire(schedule(home), T0)
    open_schedule_pauses(pauses_at).pause("job", "maria")
    clock.now = T0 + dt.timedelta(minutes=21)
    Scheduler(recorder, clock).catch_up(schedule(home))
    states = {key: state for key, (state, _) in requests(queue).items()}
    assert states == {"job@2026-01-07T09:00:00Z": "queued", "job@2026-01-07T09:05:00Z": "missed",
                      "job@2026-01-07T09:10:00Z": "missed", "job@2026-01-07T09:15:00Z": "skipped",
                      "job@2026-01-07T09:20:00Z": "skipped"}
    assert requests(queue)["job@2026-01-07T09:20:00Z"][1] == "paused by maria"


def test_a_running_scheduler_honours_a_pause_and_a_resume_without_a_restart(home, pauses_at):
    queue = open_work_queue(pauses_at)
    audit = AuditLog.open(home / "service.jsonl", run_id="svc", flow="service", flow_sha256="0" * 64,
                          masker=SecretMasker())
    scheduler = Scheduler(FireRecorder(queue, audit))
    pauses = open_schedule_pauses(pauses_at)
    try:
        scheduler.start(load_schedules(home / "schedules.yaml"))
        pauses.pause("quick", "maria")
        skipped = _wait_for(queue, "skipped")
        pauses.resume("quick")
        queued = _wait_for(queue, "queued", after=skipped.fire_time)
    finally:
        scheduler.shutdown()
        audit.close()
        queue.close()
    assert skipped.error == "paused by maria"
    assert queued.fire_time > skipped.fire_time


def _wait_for(queue, state: str, after: dt.datetime | None = None, timeout_s: float = 20.0):
    """The first request of "quick" in `state` fired after `after` (the scheduler fires every second)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run in reversed(queue.list_runs(schedule_id="quick", limit=1000)):
            if run.state == state and (after is None or run.fire_time > after):
                return run
        time.sleep(0.1)
    raise AssertionError(f"no fire of 'quick' was recorded as {state} within {timeout_s} s")


def test_pausing_a_paused_schedule_keeps_the_first_pause_and_says_who_holds_it(pauses_at):
    pauses = open_schedule_pauses(pauses_at)
    first = pauses.pause("job", "maria", note="month-end   close\n", now=T0)
    with pytest.raises(AlreadyPaused) as raised:
        pauses.pause("job", "joao", note="other")
    assert raised.value.pause == first and first.note == "month-end close"
    assert "already paused by maria: month-end close" in str(raised.value)
    assert pauses.resume("job") == first
    assert pauses.resume("job") is None and pauses.all() == {}


# The command line -------------------------------------------------------------------------------


def cli(capsys, home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home / "h"), "schedules", "--schedules", str(home / "schedules.yaml"), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_pause_and_resume_are_recorded_with_the_user_who_asked_in_an_audit_log(home, capsys, monkeypatch):
    monkeypatch.setenv("USER", "maria")
    monkeypatch.setenv("LOGNAME", "maria")
    code, out, _ = cli(capsys, home, "pause", "job", "--note", "portal maintenance")
    assert code == 0 and "job is paused (paused by maria: portal maintenance)" in out
    assert open_schedule_pauses(home / "h" / "queue.db").get("job").paused_by == "maria"
    code, out, _ = cli(capsys, home, "resume", "job")
    assert code == 0 and "job is resumed" in out
    log = home / "h" / "audit" / "console.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["action"], r["user"], r["schedule_id"], r["via"]) for r in records] == \
        [("schedule.pause", "maria", "job", "command line"), ("schedule.resume", "maria", "job", "command line")]
    assert verify_audit_log(log).ok


def test_cli_pause_that_cannot_be_recorded_is_undone_with_a_clear_message(home, capsys):
    (home / "h" / "audit").mkdir(parents=True)
    (home / "h" / "audit" / "console.jsonl").mkdir()  # the audit log cannot be written
    code, _, err = cli(capsys, home, "pause", "job")
    assert code == 3 and "not done: the audit log could not be written" in err and "Traceback" not in err
    assert open_schedule_pauses(home / "h" / "queue.db").get("job") is None


def test_cli_listing_shows_who_paused_a_schedule(home, capsys):
    cli(capsys, home, "pause", "job", "--note", "month-end")
    code, out, _ = cli(capsys, home, "--count", "1")
    assert code == 0
    job_block = out.split("\njob (enabled)\n")[1].split("\n\n")[0]
    assert job_block.splitlines()[0].startswith("  paused    by ") and job_block.splitlines()[0].endswith(": month-end")
    code, out, _ = cli(capsys, home, "--json")
    paused = {entry["id"]: entry["paused"] for entry in json.loads(out)["schedules"]}
    assert paused["quick"] is None and paused["job"]["note"] == "month-end"


def test_cli_refuses_an_unknown_schedule_and_a_resume_of_a_running_one(home, capsys):
    code, _, err = cli(capsys, home, "pause", "jbo")
    assert code == 2 and "no schedule 'jbo'" in err and "did you mean 'job'?" in err
    code, _, err = cli(capsys, home, "resume", "job")
    assert code == 2 and "schedule 'job' is not paused: nothing to resume" in err
    cli(capsys, home, "pause", "job")
    code, _, err = cli(capsys, home, "pause", "job")
    assert code == 2 and "already paused by" in err and "Traceback" not in err
