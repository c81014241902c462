"""One active scheduler across machines on one PostgreSQL database: a session advisory lock on a connection of
its own; a standby takes over within 10 s when the holder is killed or cut off, and across the takeover no
fire is run twice and none is lost. Each service records itself in the services registry.

Real PostgreSQL (a throwaway database per test), real `serve` processes with homes of their own, and a TCP
proxy between one service and PostgreSQL that the test cuts (PostgreSQL itself is never restarted here).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import time
from pathlib import Path

import psycopg
import pytest

from bastidor.queue import open_work_queue
from bastidor.service.advisory_lock import AdvisoryLock, lock_connection_settings
from bastidor.service.registry import STOPPED, open_service_registry
from service_support import output, serve, stop, stop_all, wait_until
from tcp_proxy import TcpProxy

UTC = dt.timezone.utc
EVERY_S = 2
TICK_FLOW = "name: Tick\nsteps:\n  - log: tick\n"
TAKEOVER_S = 10.0


# --- the lock itself ------------------------------------------------------------------------------------------

def test_one_service_holds_the_scheduler_lock_and_a_standby_is_told_which_machine_and_pid(pg_url):
    holder, standby = AdvisoryLock(pg_url), AdvisoryLock(pg_url)
    try:
        assert holder.try_acquire() and holder.still_held()
        assert not standby.try_acquire() and not standby.still_held()
        assert standby.holder() == f"{socket.gethostname()} pid {os.getpid()}"
    finally:
        holder.release()
        standby.release()


def test_when_the_holders_session_ends_it_knows_it_lost_the_lock_and_a_standby_takes_it(pg_url):
    holder, standby = AdvisoryLock(pg_url), AdvisoryLock(pg_url)
    try:
        assert holder.try_acquire()
        backend = holder._connection.info.backend_pid
        with psycopg.connect(lock_connection_settings(pg_url)["conninfo"], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        assert not holder.still_held()
        assert "connection failed" in holder.lost_reason
        assert standby.try_acquire()
        assert not holder.try_acquire(), "the old holder reconnects as a standby"
    finally:
        holder.release()
        standby.release()


def test_a_network_cut_frees_the_lock_for_a_standby_and_the_cut_off_holder_knows_it(pg_url):
    with TcpProxy.in_front_of(pg_url) as proxy:
        holder, standby = AdvisoryLock(proxy.url_for(pg_url)), AdvisoryLock(pg_url)
        try:
            assert holder.try_acquire() and not standby.try_acquire()
            proxy.cut()
            assert wait_until(standby.try_acquire, timeout=TAKEOVER_S, every=0.1)
            assert not holder.still_held() and holder.lost_reason
            assert not holder.try_acquire() and holder.unreachable, "no way through while the network is cut"
            proxy.restore()
            assert not holder.try_acquire() and holder.holder() == standby.holder()
        finally:
            holder.release()
            standby.release()


def test_after_a_postgresql_restart_the_holder_knows_it_lost_the_lock_and_exactly_one_takes_it_again(
        private_postgres):
    """A cluster of the test's own is restarted (the machine's shared PostgreSQL never is)."""
    holder, standby = AdvisoryLock(private_postgres.url), AdvisoryLock(private_postgres.url)
    try:
        assert holder.try_acquire() and not standby.try_acquire()
        private_postgres.restart()
        assert not holder.still_held() and "connection failed" in holder.lost_reason
        assert wait_until(lambda: standby.try_acquire() or holder.try_acquire(), timeout=TAKEOVER_S, every=0.5)
        assert [holder.still_held(), standby.still_held()].count(True) == 1
    finally:
        holder.release()
        standby.release()


def test_the_lock_connection_probes_a_silent_peer_on_both_ends(pg_url):
    """A cut that drops packets without a reset is found by keepalives and a user timeout (docs/scale-out.md)."""
    lock = AdvisoryLock(pg_url)
    try:
        assert lock.try_acquire()
        server = {name: lock._connection.execute(f"SHOW {name}").fetchone()[0]
                  for name in ("tcp_keepalives_idle", "tcp_keepalives_count", "tcp_user_timeout")}
        client = lock._connection.info.get_parameters()
        assert server == {"tcp_keepalives_idle": "3", "tcp_keepalives_count": "2", "tcp_user_timeout": "4000"}
        assert client["keepalives_idle"] == "3" and client["tcp_user_timeout"] == "4000"
    finally:
        lock.release()


# --- the services registry ------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def queue_database(request, tmp_path: Path) -> str:
    """The queue's database: the home's SQLite file (embedded) or a shared PostgreSQL database."""
    return str(tmp_path / "home" / "queue.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")


def test_each_service_records_where_it_runs_beats_and_says_stopped_on_a_clean_stop(queue_database, tmp_path):
    registry = open_service_registry(queue_database)
    try:
        started = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        first = registry.register(tmp_path / "a", now=started, machine="machine-a", pid=101)
        second = registry.register(tmp_path / "b", now=started, machine="machine-b", pid=202)
        bots = [{"name": "machine-a-111-w1", "number": 1, "pid": 111, "alive": True}]
        registry.beat(first, holds_scheduler=True, workers=bots, retired_workers=["machine-a-110-w1"],
                      now=started + dt.timedelta(seconds=10))
        registry.stopped(second, now=started + dt.timedelta(seconds=20))
        entries = {entry.machine: entry for entry in registry.all()}
    finally:
        registry.close()
    a, b = entries["machine-a"], entries["machine-b"]
    assert (a.pid, a.home, a.holds_scheduler, a.workers, a.retired_workers) == (
        101, str((tmp_path / "a").resolve()), True, bots, ["machine-a-110-w1"])
    assert a.version and a.started_at == started and a.heartbeat_at == started + dt.timedelta(seconds=10)
    assert not a.is_stale(started + dt.timedelta(seconds=40)) and a.is_stale(started + dt.timedelta(seconds=41))
    assert (b.state, b.stopped_at, b.holds_scheduler) == (STOPPED, started + dt.timedelta(seconds=20), False)


# --- real services ----------------------------------------------------------------------------------------------

def machine(tmp_path: Path, name: str) -> Path:
    """A machine's folder: a flow that only logs, and a schedule running it every EVERY_S seconds."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "tick.yaml").write_text(TICK_FLOW)
    (folder / "schedules.yaml").write_text(
        f"schedules:\n  - id: tick\n    flow: tick.yaml\n    trigger: {{interval: {EVERY_S}s}}\n    timezone: UTC\n"
        "    misfire_grace: 30s\n    overlap: allow\n")
    return folder


def serve_on(folder: Path, url: str, workers: int = 1):
    """`serve` for this machine's home on the database at `url`."""
    return serve(folder, "--workers", str(workers), env={**os.environ, "BASTIDOR_DATABASE_URL": url})


def active(process) -> bool:
    """The service printed that it runs the scheduler."""
    return "scheduler active" in output(process)


def fires(url: str) -> list:
    """Every run request of the `tick` schedule, by fire time."""
    with open_work_queue(url) as queue:
        return sorted(queue.list_runs(schedule_id="tick", limit=10_000), key=lambda run: run.fire_time)


def fires_done_after(url: str, moment: dt.datetime) -> int:
    """How many fires after `moment` have been run to the end."""
    return sum(1 for run in fires(url) if run.fire_time > moment and run.state == "done")


def assert_each_fire_recorded_once_and_run_at_most_once(url: str) -> None:
    """Every fire time from the first to the last has its one request (none lost, none missed within the grace),
    and no request was started twice."""
    runs = fires(url)
    times = [run.fire_time for run in runs]
    assert len(set(times)) == len(times) == len({run.key for run in runs})
    assert {later - earlier for earlier, later in zip(times, times[1:])} == {dt.timedelta(seconds=EVERY_S)}, times
    assert "missed" not in {run.state for run in runs}
    with open_work_queue(url) as queue:
        starts = {run.key: [event.to_state for event in queue.run_history(run.id)].count("running") for run in runs}
    assert max(starts.values()) == 1, {key: count for key, count in starts.items() if count > 1}


def test_two_machines_elect_one_scheduler_and_after_kill_9_the_standby_takes_over_within_10s(tmp_path, pg_url):
    first, second = serve_on(machine(tmp_path, "a"), pg_url), serve_on(machine(tmp_path, "b"), pg_url)
    assert wait_until(lambda: all(active(p) or "stands by" in output(p) for p in (first, second)), timeout=90)
    assert [active(first), active(second)].count(True) == 1, [output(first), output(second)]
    holder, standby = (first, second) if active(first) else (second, first)
    assert wait_until(lambda: fires_done_after(pg_url, dt.datetime.min.replace(tzinfo=UTC)) >= 2, timeout=60)

    os.kill(holder.pid, signal.SIGKILL)
    killed_at, killed_wall = time.monotonic(), dt.datetime.now(UTC)
    assert wait_until(lambda: active(standby), timeout=30, every=0.05), output(standby)
    takeover_s = time.monotonic() - killed_at
    assert takeover_s < TAKEOVER_S, f"took over {takeover_s:.1f} s after the kill"
    assert wait_until(lambda: fires_done_after(pg_url, killed_wall) >= 2, timeout=60), output(standby)

    stop(standby)
    holder.wait()
    assert_each_fire_recorded_once_and_run_at_most_once(pg_url)
    print(f"takeover after kill -9: {takeover_s:.2f} s")


def test_a_network_cut_stops_the_holders_scheduler_and_the_standby_takes_over_within_10s(tmp_path, pg_url):
    with TcpProxy.in_front_of(pg_url) as proxy:
        cut_off = serve_on(machine(tmp_path, "a"), proxy.url_for(pg_url))
        assert wait_until(lambda: active(cut_off), timeout=90), output(cut_off)
        standby = serve_on(machine(tmp_path, "b"), pg_url)
        assert wait_until(lambda: "stands by" in output(standby), timeout=90), output(standby)
        assert wait_until(lambda: fires_done_after(pg_url, dt.datetime.min.replace(tzinfo=UTC)) >= 2, timeout=60)

        proxy.cut()
        cut_at, cut_wall = time.monotonic(), dt.datetime.now(UTC)
        assert wait_until(lambda: active(standby), timeout=30, every=0.05), output(standby)
        takeover_s = time.monotonic() - cut_at
        assert takeover_s < TAKEOVER_S, f"took over {takeover_s:.1f} s after the cut"
        assert wait_until(lambda: "scheduler lock lost" in output(cut_off), timeout=TAKEOVER_S), output(cut_off)
        proxy.restore()

        assert wait_until(lambda: fires_done_after(pg_url, cut_wall) >= 2, timeout=60), output(standby)
        assert wait_until(lambda: registered_as(pg_url, cut_off.pid, holds_scheduler=False, after=cut_wall),
                          timeout=60), "the cut-off service is back, as a standby"
        stop_all([cut_off, standby])
    assert output(cut_off).count("scheduler active") == 1, "the cut-off service never led again"
    assert_each_fire_recorded_once_and_run_at_most_once(pg_url)
    print(f"takeover after a network cut: {takeover_s:.2f} s")


def registered_as(url: str, pid: int, *, holds_scheduler: bool, after: dt.datetime) -> bool:
    """The service with this pid beat after `after`, saying whether it holds the scheduler."""
    registry = open_service_registry(url)
    try:
        return any(entry.pid == pid and entry.heartbeat_at > after and entry.holds_scheduler == holds_scheduler
                   for entry in registry.all())
    finally:
        registry.close()
