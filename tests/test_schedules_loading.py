"""Loading schedules.yaml: every setting reaches the Schedule, defaults apply, references resolve,
and business calendars close the right days."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bastidor.flow.diagnostics import FlowValidationError
from bastidor.schedule import (BusinessCalendar, CronSpec, DateSpec, IntervalSpec, OverlapPolicy, load_schedules,
                               next_fire_times)

REPO = Path(__file__).resolve().parents[1]
FLOW_WITH_INPUTS = """
name: Import orders
inputs:
  orders_file: {type: path}
  batch_size: {type: integer, default: 10}
  rate: {type: decimal, default: "1.5"}
steps:
  - log: "{{ orders_file }}"
"""
FULL = """
defaults: {timezone: Europe/Lisbon, misfire_grace: 2m, overlap: queue_one, jitter: 5s, calendar: pt}
calendars:
  pt:
    business_days_only: true
    holidays: {country: PT, subdivision: null}
    closed: [2026-12-24]
schedules:
  - id: import-orders
    description: Imports the orders workbook.
    flow: flows/import.yaml
    inputs: {orders_file: drop/orders.xlsx, rate: 2.25}
    trigger: {cron: "*/5 * * * *"}
    enabled: false
    misfire_grace: 5m
    overlap: skip
    jitter: 30s
    timeout: 20m
    priority: 5
  - id: hourly_sync
    flow: flows/import.yaml
    inputs: {orders_file: /data/orders.xlsx}
    trigger: {interval: 1h, start: "2026-01-05 08:00"}
    timezone: UTC
    calendar: null
  - id: year-end
    flow: flows/import.yaml
    inputs: {orders_file: year.xlsx}
    trigger: {date: 2026-12-31T18:00}
    calendar: {business_days_only: false, closed: [2026-12-30]}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "import.yaml").write_text(FLOW_WITH_INPUTS, encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(FULL, encoding="utf-8")
    return tmp_path


def test_every_written_setting_reaches_the_schedule(folder):
    job = load_schedules(folder / "schedules.yaml").by_id["import-orders"]
    assert job.flow_path == folder / "flows" / "import.yaml" and job.flow_path.is_absolute()
    assert isinstance(job.trigger, CronSpec) and job.trigger.text() == "cron */5 * * * *"
    assert job.timezone == ZoneInfo("Europe/Lisbon")
    assert (job.enabled, job.misfire_grace_s, job.overlap, job.jitter_s, job.timeout_s, job.priority) == \
        (False, 300.0, OverlapPolicy.skip, 30.0, 1200.0, 5)
    assert job.calendar == BusinessCalendar("pt", True, "PT", None, frozenset({dt.date(2026, 12, 24)}))
    assert job.description == "Imports the orders workbook."


def test_path_inputs_are_resolved_against_the_schedules_folder_and_values_stay_plain(folder):
    jobs = load_schedules(folder / "schedules.yaml").by_id
    assert jobs["import-orders"].inputs == {"orders_file": str(folder / "drop" / "orders.xlsx"), "rate": "2.25"}
    assert jobs["hourly_sync"].inputs == {"orders_file": "/data/orders.xlsx"}


def test_defaults_apply_where_a_schedule_says_nothing_and_calendar_null_turns_the_default_off(folder):
    hourly = load_schedules(folder / "schedules.yaml").by_id["hourly_sync"]
    assert (hourly.misfire_grace_s, hourly.overlap, hourly.jitter_s, hourly.timeout_s, hourly.priority) == \
        (120.0, OverlapPolicy.queue_one, 5.0, 3600.0, 0)
    assert hourly.timezone == ZoneInfo("UTC") and hourly.calendar is None and hourly.enabled


def test_interval_start_and_date_are_read_as_local_time(folder):
    jobs = load_schedules(folder / "schedules.yaml").by_id
    assert isinstance(jobs["hourly_sync"].trigger, IntervalSpec)
    assert jobs["hourly_sync"].trigger.start == dt.datetime(2026, 1, 5, 8, tzinfo=dt.timezone.utc)
    assert isinstance(jobs["year-end"].trigger, DateSpec)
    assert jobs["year-end"].trigger.at == dt.datetime(2026, 12, 31, 18, tzinfo=dt.timezone.utc)
    assert jobs["year-end"].calendar.name == "(inline)" and not jobs["year-end"].calendar.business_days_only


def test_the_set_keeps_file_order_the_file_hash_and_lists_enabled_by_priority(folder):
    schedule_set = load_schedules(folder / "schedules.yaml")
    assert [s.id for s in schedule_set.schedules] == ["import-orders", "hourly_sync", "year-end"]
    assert schedule_set.sha256 == hashlib.sha256((folder / "schedules.yaml").read_bytes()).hexdigest()
    assert schedule_set.path == folder / "schedules.yaml" and schedule_set.folder == folder
    assert [s.id for s in schedule_set.enabled()] == ["hourly_sync", "year-end"]
    assert set(schedule_set.calendars) == {"pt"}


def test_a_required_flow_input_must_be_given(folder):
    (folder / "schedules.yaml").write_text(
        "schedules:\n  - id: a\n    flow: flows/import.yaml\n    trigger: {interval: 1h}\n", encoding="utf-8")
    with pytest.raises(FlowValidationError) as caught:
        load_schedules(folder / "schedules.yaml")
    assert [d.message for d in caught.value.diagnostics] == [
        "flow 'flows/import.yaml' needs input 'orders_file': add it under inputs"]


def test_an_input_of_the_wrong_type_is_reported_at_its_value(folder):
    (folder / "schedules.yaml").write_text(
        "schedules:\n  - id: a\n    flow: flows/import.yaml\n    trigger: {interval: 1h}\n"
        "    inputs: {orders_file: a.xlsx, batch_size: many}\n", encoding="utf-8")
    with pytest.raises(FlowValidationError) as caught:
        load_schedules(folder / "schedules.yaml")
    assert [str(d).split(": ", 1)[1] for d in caught.value.diagnostics] == [
        "input 'batch_size': 'many' is not a valid integer"]
    assert (caught.value.diagnostics[0].line, caught.value.diagnostics[0].column) == (5, 47)


def test_an_empty_schedules_list_is_valid_and_runs_nothing(tmp_path):
    (tmp_path / "schedules.yaml").write_text("schedules: []\n", encoding="utf-8")
    assert load_schedules(tmp_path / "schedules.yaml").schedules == []


def test_the_repository_schedules_file_runs_the_demo_every_five_minutes_on_business_days():
    demo = load_schedules(REPO / "schedules.yaml").by_id["demo-order-entry"]
    assert demo.enabled and demo.flow_path == REPO / "flows" / "order_entry.yaml"
    christmas_eve = dt.datetime(2026, 12, 23, 23, 50, tzinfo=ZoneInfo("Europe/Lisbon"))
    times = [t.astimezone(demo.timezone).strftime("%a %d %H:%M") for t in next_fire_times(demo, christmas_eve, 3)]
    assert times == ["Wed 23 23:55", "Mon 28 00:00", "Mon 28 00:05"]


@pytest.mark.parametrize(("day", "is_open", "reason"), [
    (dt.date(2026, 12, 23), True, None),
    (dt.date(2026, 12, 24), False, "closed date"),
    (dt.date(2026, 12, 25), False, "holiday: Christmas Day"),
    (dt.date(2026, 12, 26), False, "weekend"),
    (dt.date(2026, 4, 3), False, "holiday: Good Friday"),
])
def test_business_calendar_closes_weekends_holidays_and_extra_dates(day, is_open, reason):
    calendar = BusinessCalendar("pt", True, "PT", None, frozenset({dt.date(2026, 12, 24)}))
    assert calendar.is_open(day) is is_open
    assert calendar.closed_reason(day) == reason


def test_a_regional_holiday_closes_only_the_region():
    lisbon = BusinessCalendar("lisbon", business_days_only=False, country="PT", subdivision="11")
    porto = BusinessCalendar("porto", business_days_only=False, country="PT", subdivision="13")
    saint_anthony = dt.date(2025, 6, 13)
    assert not lisbon.is_open(saint_anthony) and porto.is_open(saint_anthony)


def test_a_calendar_without_business_days_only_is_open_at_weekends():
    assert BusinessCalendar("any", business_days_only=False).is_open(dt.date(2026, 1, 10))
    assert BusinessCalendar("any", business_days_only=False).describe() == "every day"
