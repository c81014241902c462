"""`serve` with 500 schedules firing every second: it warns at start-up that the bots cannot keep up, and on
SIGTERM it stops within its drain timeout, without working through a backlog of fires and without a bot
claiming a run after the signal. Real processes, real SQLite; waits on queue rows and output lines.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
from pathlib import Path

from bastidor.audit import verify_audit_log
from service_support import output, queue_of, serve, started, wait_until

DRAIN_TIMEOUT_S = 20
RUN_S = 3


def write_many_schedules(folder: Path, count: int = 500) -> None:
    """`count` schedules firing every second (overlap skip, the default), each running a 3-second flow."""
    (folder / "pause.yaml").write_text(f"name: Pause\nsteps:\n  - wait: {RUN_S}s\n", encoding="utf-8")
    lines = [f"  - {{id: s{number:03d}, flow: pause.yaml, trigger: {{interval: 1s}}}}" for number in range(count)]
    (folder / "schedules.yaml").write_text("defaults: {timezone: UTC}\nschedules:\n" + "\n".join(lines) + "\n",
                                           encoding="utf-8")


def fires_recorded(folder: Path) -> int:
    with queue_of(folder) as queue:
        return len(queue.list_runs(limit=100_000))


def a_run_just_started(folder: Path) -> bool:
    """The bot claimed its request less than half a second ago, so it is busy for 2.5 s more."""
    with queue_of(folder) as queue:
        running = queue.list_runs(states=("running",), limit=10)
    now = dt.datetime.now(dt.timezone.utc)
    return len(running) == 1 and (now - running[0].started_at).total_seconds() < 0.5


def claims_after(folder: Path, moment: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """Every claim of a run request (its move to running) recorded after `moment`."""
    with queue_of(folder) as queue:
        runs = queue.list_runs(limit=100_000)
        return [(run.key, event.at) for run in runs if run.started_at for event in queue.run_history(run.id)
                if event.to_state == "running" and event.at > moment]


def test_serve_with_500_schedules_every_second_warns_and_stops_on_sigterm_within_its_drain_timeout(tmp_path):
    write_many_schedules(tmp_path)
    service = serve(tmp_path, "--workers", "1", "--drain-timeout", str(DRAIN_TIMEOUT_S))
    try:
        assert wait_until(lambda: started(service), timeout=120), output(service)
        assert wait_until(lambda: fires_recorded(tmp_path) >= 1000, timeout=60)  # two rounds of 500 fires
        assert wait_until(lambda: a_run_just_started(tmp_path), timeout=30, every=0.05)
        signalled = dt.datetime.now(dt.timezone.utc)
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=DRAIN_TIMEOUT_S)  # raises if it takes longer than its drain timeout
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    text = output(service)
    assert "warning: the schedules keep about 500 bots busy" in text and "but serve has 1 worker(s)" in text
    assert service.returncode == 0, text
    assert claims_after(tmp_path, signalled) == [], "no bot may claim a run after SIGTERM"
    [log] = (tmp_path / "home" / "service").glob("*.jsonl")
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events.index("scheduler.stopped") < events.index("run.finished") and verify_audit_log(log).ok

