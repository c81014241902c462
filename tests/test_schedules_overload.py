"""`schedules` warns when the schedules fire faster than the bots can run them: it names the schedules
that cause it, says how long their runs take (from the run store's history, or a floor) and what to do.

Runs the command in-process against real schedules files, flows and a real run store in tmp_path.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bastidor.cli.main import main
from bastidor.schedule import load_schedules
from bastidor.schedule.demand import RunEstimate, ScheduleDemand, find_overload, fire_rate
from bastidor.service.pauses import open_schedule_pauses
from bastidor.store import RunRecord, open_run_store

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    (tmp_path / "web.yaml").write_text("name: Web\nbot: {base_url: 'http://127.0.0.1:9'}\nsteps:\n"
                                       "  - open: /orders\n", encoding="utf-8")
    return tmp_path


def write(folder: Path, *entries: str) -> None:
    (folder / "schedules.yaml").write_text("defaults: {timezone: UTC}\nschedules:\n" + "".join(
        f"  - {entry}\n" for entry in entries), encoding="utf-8")


def cli(capsys, folder: Path, *args: str) -> tuple[int, str]:
    code = main(["--home", str(folder / "home"), "schedules", "--schedules", str(folder / "schedules.yaml"),
                 "--count", "1", "--now", NOW.isoformat(), *args])
    return code, capsys.readouterr().out


def every_second(count: int, flow: str = "tiny.yaml", extra: str = "") -> list[str]:
    return [f"{{id: s{number:03d}, flow: {flow}, trigger: {{interval: 1s}}{extra}}}" for number in range(count)]


def test_schedules_warns_when_they_keep_more_bots_busy_than_serve_has_and_says_what_to_do(folder, capsys):
    write(folder, *every_second(12))
    code, out = cli(capsys, folder, "--workers", "2")
    assert code == 0
    warning = out.split("\n\n")[-1]
    assert warning.startswith("warning: the schedules keep about 12 bots busy (how often each fires times how long "
                              "its runs take), but serve has 2 worker(s)")
    assert "  s000 (every 1s, overlap skip): runs take about 1 s (no runs yet, assumed for a flow without a " \
           "browser), so it keeps about 1.0 bot busy" in warning
    assert "... and 5 more schedule(s) like these" in warning
    assert "What to do: give these schedules a longer interval" in warning
    assert "more workers (--workers; about 12 would keep up)" in warning


def test_schedules_that_the_bots_keep_up_with_get_no_warning(folder, capsys):
    write(folder, "{id: orders, flow: web.yaml, trigger: {cron: '*/5 * * * *'}}", *every_second(1))
    code, out = cli(capsys, folder, "--workers", "2")
    assert code == 0 and "warning" not in out


def test_run_lengths_come_from_the_flows_recent_runs_in_the_run_store(folder, capsys):
    with open_run_store(folder / "home" / "runs.db") as store:
        for number, seconds in enumerate((18, 20, 25)):
            start = NOW - dt.timedelta(hours=1, minutes=number)
            store.create_run(RunRecord(run_id=f"r{number}", flow_name="Tiny", flow_path=str(folder / "tiny.yaml"),
                                       flow_sha256="0" * 64, status="succeeded", started_at=start,
                                       ended_at=start + dt.timedelta(seconds=seconds)))
    write(folder, "{id: orders, flow: tiny.yaml, trigger: {interval: 10s}, overlap: allow}")
    code, out = cli(capsys, folder, "--workers", "1")
    assert "orders (every 10s, overlap allow): runs take about 20 s (median of its flow's last 3 run(s)), so it " \
           "keeps about 2.0 bots busy" in out
    assert "set `overlap: skip` (or `queue_one`) on them so that their runs cannot pile up" in out


def test_a_flow_that_opens_a_browser_is_assumed_to_take_longer_than_one_without(folder, capsys):
    write(folder, "{id: web, flow: web.yaml, trigger: {interval: 2s}, overlap: allow}")
    code, out = cli(capsys, folder, "--workers", "2")
    assert "web (every 2s, overlap allow): runs take about 5 s (no runs yet, assumed for a flow with a browser), " \
           "so it keeps about 2.5 bots busy" in out


def test_paused_and_disabled_schedules_do_not_count_and_json_carries_the_warning(folder, capsys):
    write(folder, *every_second(3), "{id: idle, flow: tiny.yaml, trigger: {interval: 1s}, enabled: false}")
    code, out = cli(capsys, folder, "--workers", "2", "--json")
    assert "keep about 3.0 bots busy" in json.loads(out)["overload_warning"]
    open_schedule_pauses(folder / "home" / "queue.db").pause("s000", "maria")
    code, out = cli(capsys, folder, "--workers", "2", "--json")
    assert code == 0 and json.loads(out)["overload_warning"] is None


def test_a_schedule_with_overlap_skip_never_keeps_more_than_one_bot_busy(folder):
    write(folder, "{id: slow, flow: tiny.yaml, trigger: {interval: 1s}}", "{id: cron, flow: tiny.yaml, "
          "trigger: {cron: '*/10 * * * *'}}")
    schedules = load_schedules(folder / "schedules.yaml").by_id
    long_runs = RunEstimate(30.0, "median of its flow's last 5 run(s)")
    assert ScheduleDemand(schedules["slow"], fire_rate(schedules["slow"], NOW), long_runs).bots == 1.0
    assert fire_rate(schedules["cron"], NOW) == pytest.approx(1 / 600)
    assert find_overload([ScheduleDemand(schedules["slow"], 1.0, long_runs)], workers=1) is None
