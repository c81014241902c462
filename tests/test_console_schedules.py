"""The Schedules page: each schedule with its next fire times, last outcome and pause state; operators
pause and resume (CSRF, server-side role check, audited), and the scheduler honours the pause.

Real schedules files, a real work queue and pause store in tmp_path, the real console app; the data
layer gets an injected `now`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from bastidor.audit import AuditLog, SecretMasker
from bastidor.console.data.schedules import find_schedule, list_schedules
from bastidor.queue import open_work_queue
from bastidor.schedule import load_schedules
from bastidor.service.pauses import open_schedule_pauses
from bastidor.service.scheduler import FireRecorder
from console_support import make_console

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 23, 23, 50, tzinfo=UTC)  # a Wednesday, before Christmas
SCHEDULES = """
defaults: {timezone: Europe/Lisbon}
calendars:
  pt-business:
    holidays: {country: PT}
    closed: [2026-12-24]
schedules:
  - id: order-entry
    flow: flows/tiny.yaml
    description: Orders every five minutes on business days
    trigger: {cron: "*/5 * * * 1-5"}
    calendar: pt-business
  - id: year-end
    flow: flows/tiny.yaml
    trigger: {date: 2026-12-31T18:00}
    enabled: false
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(SCHEDULES, encoding="utf-8")
    return tmp_path


@pytest.fixture
def console(folder: Path):
    made = make_console(folder, flows_dir=folder / "flows", schedules_path=folder / "schedules.yaml")
    yield made
    made.close()


def pauses_of(console):
    return open_schedule_pauses(console.home / "queue.db")


def audit_actions(console) -> list[dict]:
    lines = (console.home / "audit" / "console.jsonl").read_text(encoding="utf-8").splitlines()
    return [record for record in map(json.loads, lines) if record["event"] == "console.action"]


# The data -----------------------------------------------------------------------------------------


def test_each_schedule_has_its_next_fire_times_on_open_days_in_its_own_time_zone(folder):
    with open_work_queue(folder / "queue.db") as queue:
        listing = list_schedules(folder / "schedules.yaml", queue, open_schedule_pauses(folder / "queue.db"), NOW)
    order_entry, year_end = listing.rows
    assert [moment.strftime("%a %Y-%m-%d %H:%M %Z") for moment in order_entry.next_fires] == \
        ["Wed 2026-12-23 23:55 WET", "Mon 2026-12-28 00:00 WET", "Mon 2026-12-28 00:05 WET"]
    assert order_entry.calendar_text == "pt-business (Mon-Fri, PT holidays, 1 closed date)"
    assert (order_entry.state, year_end.state, order_entry.last) == ("active", "disabled", None)
    assert listing.problems == []


def test_the_last_outcome_is_the_newest_run_request_of_that_schedule(folder):
    with open_work_queue(folder / "queue.db") as queue:
        queue.enqueue_run("order-entry@1", "tiny.yaml", {}, requested_by="scheduler", schedule_id="order-entry",
                          fire_time=NOW - dt.timedelta(minutes=10), now=NOW - dt.timedelta(minutes=10))
        queue.enqueue_run("order-entry@2", "tiny.yaml", {}, requested_by="scheduler", schedule_id="order-entry",
                          fire_time=NOW - dt.timedelta(minutes=5), state="skipped", reason="overlap policy skip",
                          now=NOW - dt.timedelta(minutes=5))
        queue.enqueue_run("other@1", "tiny.yaml", {}, requested_by="scheduler", schedule_id="year-end", now=NOW)
        rows = list_schedules(folder / "schedules.yaml", queue, open_schedule_pauses(folder / "queue.db"), NOW).rows
    assert (rows[0].last.key, rows[0].last.state, rows[0].last.error) == \
        ("order-entry@2", "skipped", "overlap policy skip")


def test_a_broken_or_missing_schedules_file_is_shown_as_its_problems(folder):
    broken_file = "schedules:\n  - id: x\n    flow: flows/tiny.yaml\n    trigger: {cron: 'bad'}\n"
    (folder / "schedules.yaml").write_text(broken_file, encoding="utf-8")
    with open_work_queue(folder / "queue.db") as queue:
        pauses = open_schedule_pauses(folder / "queue.db")
        broken = list_schedules(folder / "schedules.yaml", queue, pauses, NOW)
        missing = list_schedules(folder / "nowhere.yaml", queue, pauses, NOW)
    assert broken.rows == [] and broken.problems and re.search(r"schedules\.yaml:4:\d+: ", broken.problems[0])
    assert "there is no schedules file here" in missing.problems[0]
    assert find_schedule(folder / "schedules.yaml", "x") is None


# The page -----------------------------------------------------------------------------------------


def test_a_viewer_sees_every_schedule_but_no_pause_button(console):
    page = console.client("viewer").get("/schedules")
    assert page.status_code == 200
    assert "order-entry" in page.text and "year-end" in page.text
    assert "cron */5 * * * 1-5 (Europe/Lisbon)" in page.text and "pt-business (Mon-Fri, PT holidays" in page.text
    assert "never fired" in page.text
    assert "/pause" not in page.text and ">Pause<" not in page.text


def test_an_operator_page_has_pause_forms_that_carry_the_csrf_token(console):
    page = console.client("operator").get("/schedules").text
    forms = re.findall(r'<form method="post" action="/schedules/([\w-]+)/pause".*?</form>', page, flags=re.S)
    assert forms == ["order-entry", "year-end"]
    tokens = re.findall(r'action="/schedules/order-entry/pause".*?name="csrf_token" value="([^"]*)"', page, flags=re.S)
    assert tokens and tokens[0]  # an empty token would make a real browser's POST fail


def test_an_operator_pauses_a_schedule_with_a_note_and_it_is_audited_and_shown(console):
    operator = console.client("operator")
    response = operator.post("/schedules/order-entry/pause", data={"note": "portal maintenance until 14:00"})
    assert response.status_code == 303 and response.headers["location"] == "/schedules"
    pause = pauses_of(console).get("order-entry")
    assert (pause.paused_by, pause.note) == (operator.user.name, "portal maintenance until 14:00")
    record = audit_actions(console)[-1]
    assert (record["user"], record["action"], record["schedule_id"], record["note"]) == \
        (operator.user.name, "schedule.pause", "order-entry", "portal maintenance until 14:00")
    page = operator.get("/schedules").text
    assert "Paused order-entry: its fires are recorded as skipped" in page
    row = page.split('id="schedule-order-entry"')[1].split("</tr>")[0]
    assert ">paused<" in row and f"by {operator.user.name} since" in row and "portal maintenance until 14:00" in row
    assert 'action="/schedules/order-entry/resume"' in row and "skipped while paused" in row


def test_an_operator_resumes_a_paused_schedule_and_the_resume_is_audited(console):
    operator = console.client("operator")
    pauses_of(console).pause("order-entry", "someone", note="month-end")
    response = operator.post("/schedules/order-entry/resume")
    assert response.status_code == 303
    assert pauses_of(console).get("order-entry") is None
    record = audit_actions(console)[-1]
    assert (record["action"], record["schedule_id"], record["paused_by"], record["user"]) == \
        ("schedule.resume", "order-entry", "someone", operator.user.name)


def test_a_viewer_cannot_pause_even_by_posting_the_form(console):
    response = console.client("viewer").post("/schedules/order-entry/pause", data={"note": "x"})
    assert response.status_code == 403
    assert pauses_of(console).all() == {}


def test_a_viewer_cannot_resume_even_by_posting_the_form(console):
    pauses_of(console).pause("order-entry", "someone")
    assert console.client("viewer").post("/schedules/order-entry/resume").status_code == 403
    assert pauses_of(console).get("order-entry") is not None


def test_a_pause_without_the_csrf_token_is_refused(console):
    response = console.client("operator").post("/schedules/order-entry/pause", data={"note": "x"}, csrf=False)
    assert response.status_code == 403
    assert pauses_of(console).all() == {}


def test_pausing_an_unknown_schedule_changes_nothing_and_says_why(console):
    operator = console.client("operator")
    operator.post("/schedules/no-such/pause", data={"note": "x"})
    assert pauses_of(console).all() == {}
    assert "There is no schedule &#39;no-such&#39; in schedules.yaml" in operator.get("/schedules").text


def test_pausing_twice_keeps_the_first_pause_and_tells_the_second_operator(console):
    first, second = console.client("operator"), console.client("operator")
    first.post("/schedules/order-entry/pause", data={"note": "first"})
    second.post("/schedules/order-entry/pause", data={"note": "second"})
    assert pauses_of(console).get("order-entry").note == "first"
    assert f"already paused by {first.user.name}: first" in second.get("/schedules").text
    assert [record["action"] for record in audit_actions(console)] == ["schedule.pause"]


def test_the_scheduler_skips_the_fires_of_a_schedule_paused_in_the_console(console, folder):
    operator = console.client("operator")
    operator.post("/schedules/order-entry/pause", data={"note": "portal down"})
    schedule = load_schedules(folder / "schedules.yaml").by_id["order-entry"]
    with open_work_queue(console.home / "queue.db") as queue, \
            AuditLog.open(folder / "service.jsonl", run_id="svc", flow="service", flow_sha256="0" * 64,
                          masker=SecretMasker()) as audit:
        assert FireRecorder(queue, audit).fire(schedule, NOW) == "skipped"
        operator.post("/schedules/order-entry/resume")
        assert FireRecorder(queue, audit).fire(schedule, NOW + dt.timedelta(minutes=5)) == "queued"
    page = operator.get("/schedules").text
    row = page.split('id="schedule-order-entry"')[1].split("</tr>")[0]
    assert "badge-queued" in row


def test_the_last_outcome_links_to_its_run(console):
    queue = console.context.queue
    queue.enqueue_run("order-entry@x", "tiny.yaml", {}, requested_by="scheduler", schedule_id="order-entry",
                      fire_time=NOW)
    request = queue.claim_run("bot-1", 60)
    queue.finish_run(request.id, "bot-1", "done", run_id="20261223-235000-abc123")
    page = console.client("viewer").get("/schedules").text
    assert '<a href="/runs/20261223-235000-abc123">20261223-235000-abc123</a>' in page
    assert "badge-done" in page
