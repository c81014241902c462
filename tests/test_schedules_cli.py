"""`bastidor schedules` (also `python runner.py schedules`): lists each schedule and when it fires next."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bastidor.cli.main import main

REPO = Path(__file__).resolve().parents[1]
SCHEDULES = """
defaults: {timezone: Europe/Lisbon}
calendars:
  pt-business:
    holidays: {country: PT}
    closed: [2026-12-24]
schedules:
  - id: order-entry
    flow: flows/tiny.yaml
    trigger: {cron: "*/5 * * * 1-5"}
    calendar: pt-business
  - id: year-end
    flow: flows/tiny.yaml
    trigger: {date: 2026-12-31T18:00}
    enabled: false
"""
EXPECTED_TEXT = """\
schedules.yaml: 2 schedule(s), 1 enabled

order-entry (enabled)
  flow      flows/tiny.yaml
  trigger   cron */5 * * * 1-5 (Europe/Lisbon)
  calendar  pt-business (Mon-Fri, PT holidays, 1 closed date)
  next      Wed 2026-12-23 23:55 WET
            Mon 2026-12-28 00:00 WET

year-end (disabled)
  flow      flows/tiny.yaml
  trigger   once at 2026-12-31 18:00 WET (Europe/Lisbon)
  calendar  none (every day)
  next      Thu 2026-12-31 18:00 WET
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(SCHEDULES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["schedules", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_lists_each_schedule_with_its_next_fire_times_in_its_time_zone(folder, capsys):
    code, out, _ = cli(capsys, "--count", "2", "--now", "2026-12-23T23:50Z")
    assert code == 0
    assert out == EXPECTED_TEXT


def test_json_output_has_the_settings_and_local_iso_fire_times(folder, capsys):
    code, out, _ = cli(capsys, "--json", "--count", "3", "--now", "2026-12-23T23:50:00+00:00")
    document = json.loads(out)
    assert code == 0
    assert document["file"] == "schedules.yaml" and len(document["sha256"]) == 64
    order_entry, year_end = document["schedules"]
    assert order_entry["next"] == ["2026-12-23T23:55:00+00:00", "2026-12-28T00:00:00+00:00",
                                   "2026-12-28T00:05:00+00:00"]
    assert (order_entry["calendar"], order_entry["overlap"], order_entry["misfire_grace_s"]) == \
        ("pt-business", "skip", 300.0)
    assert year_end["enabled"] is False and year_end["next"] == ["2026-12-31T18:00:00+00:00"]


def test_a_schedule_that_will_not_fire_again_says_never(folder, capsys):
    code, out, _ = cli(capsys, "--now", "2027-06-01T00:00")
    assert code == 0
    assert "  next      never\n" in out


def test_an_invalid_file_prints_diagnostics_and_exits_2(folder, capsys):
    (folder / "schedules.yaml").write_text(SCHEDULES.replace("Europe/Lisbon", "Europe/Lisbn"), encoding="utf-8")
    code, out, err = cli(capsys)
    assert code == 2
    assert out == "schedules.yaml:2:22: unknown time zone 'Europe/Lisbn', did you mean 'Europe/Lisbon'?\n"
    assert "1 problem(s) in schedules.yaml" in err


def test_a_missing_schedules_file_is_reported_without_a_traceback(folder, capsys):
    code, out, _ = cli(capsys, "--schedules", "elsewhere.yaml")
    assert code == 2 and out == "elsewhere.yaml:1:1: file not found\n"


@pytest.mark.parametrize(("args", "message"), [
    (["--count", "0"], "--count must be at least 1"),
    (["--now", "tomorrow"], "--now 'tomorrow' is not a date and time"),
])
def test_bad_options_are_explained_and_exit_2(folder, capsys, args, message):
    code, _, err = cli(capsys, *args)
    assert code == 2 and message in err


def test_runner_py_lists_the_repository_schedules():
    result = subprocess.run([sys.executable, "runner.py", "schedules", "--count", "1", "--now", "2026-12-23T23:57Z"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo-order-entry (enabled)" in result.stdout
    assert "  next      Mon 2026-12-28 00:00 WET\n" in result.stdout
