"""When schedules fire: cron, interval and date triggers, time zones and clock changes, business
calendars, and the APScheduler trigger the service uses. Schedules are loaded from real files; every
calculation gets its `now` from the test (no clock, no sleeping)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.base import BaseTrigger

from bastidor.schedule import (Schedule, fire_times_between, load_schedules, next_fire_after, next_fire_times,
                               nominal_fire_time)

UTC = dt.timezone.utc
LISBON = ZoneInfo("Europe/Lisbon")
CALENDARS = """
calendars:
  weekdays: {business_days_only: true}
  pt-business:
    holidays: {country: PT}
  pt-christmas:
    holidays: {country: PT}
    closed: [2026-12-24]
  lisbon-every-day:
    business_days_only: false
    holidays: {country: PT, subdivision: Lisboa}
"""


def schedule(tmp_path: Path, trigger: str, **settings: str) -> Schedule:
    """One schedule, written to a real schedules file next to a real flow and loaded."""
    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    extra = "".join(f"    {key}: {value}\n" for key, value in settings.items())
    body = f"{CALENDARS}\nschedules:\n  - id: job\n    flow: tiny.yaml\n    trigger: {trigger}\n{extra}"
    path = tmp_path / "schedules.yaml"
    path.write_text(body, encoding="utf-8")
    return load_schedules(path).by_id["job"]


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=LISBON)


def shown(times: list[dt.datetime], zone: ZoneInfo = LISBON) -> list[str]:
    return [t.astimezone(zone).strftime("%a %m-%d %H:%M %Z") for t in times]


def test_cron_gives_the_next_fire_times_in_utc_after_now(tmp_path):
    job = schedule(tmp_path, '{cron: "*/5 * * * *"}', timezone="UTC")
    times = next_fire_times(job, utc("2026-01-07T09:03:10"), count=3)
    assert times == [utc("2026-01-07T09:05"), utc("2026-01-07T09:10"), utc("2026-01-07T09:15")]
    assert all(t.tzinfo is UTC for t in times)


def test_a_fire_time_equal_to_now_is_not_next_but_is_due(tmp_path):
    job = schedule(tmp_path, '{cron: "*/5 * * * *"}', timezone="UTC")
    now = utc("2026-01-07T09:05")
    assert next_fire_times(job, now, count=1) == [utc("2026-01-07T09:10")]
    assert fire_times_between(job, utc("2026-01-07T09:00"), now) == [now]


def test_fire_times_between_excludes_the_start_and_includes_the_end(tmp_path):
    job = schedule(tmp_path, '{cron: "0 * * * *"}', timezone="UTC")
    times = fire_times_between(job, utc("2026-01-07T09:00"), utc("2026-01-07T12:00"))
    assert times == [utc("2026-01-07T10:00"), utc("2026-01-07T11:00"), utc("2026-01-07T12:00")]


def test_cron_weekdays_follow_classic_crontab_numbers(tmp_path):
    """1-5 is Monday to Friday and both 0 and 7 are Sunday (APScheduler's own numbers differ)."""
    monday_to_friday = schedule(tmp_path, '{cron: "0 9 * * 1-5"}', timezone="UTC")
    start = utc("2026-01-02T12:00")  # a Friday
    assert shown(next_fire_times(monday_to_friday, start, 2), UTC)[0].startswith("Mon 01-05 09:00")
    for sunday in ("0", "7", "sun"):
        job = schedule(tmp_path, f'{{cron: "0 9 * * {sunday}"}}', timezone="UTC")
        assert next_fire_times(job, start, 1) == [utc("2026-01-04T09:00")]


def test_cron_shortcuts_such_as_daily_work(tmp_path):
    job = schedule(tmp_path, "{cron: '@daily'}", timezone="Europe/Lisbon")
    assert shown(next_fire_times(job, local("2026-07-01T10:00"), 2)) == ["Thu 07-02 00:00 WEST",
                                                                         "Fri 07-03 00:00 WEST"]


def test_cron_keeps_local_wall_clock_time_across_the_spring_clock_change(tmp_path):
    """Lisbon moves from WET to WEST on the last Sunday of March (2026-03-29, 01:00 -> 02:00)."""
    job = schedule(tmp_path, '{cron: "0 9 * * *"}', timezone="Europe/Lisbon")
    times = next_fire_times(job, local("2026-03-28T00:00"), count=2)
    assert times == [utc("2026-03-28T09:00"), utc("2026-03-29T08:00")]
    assert shown(times) == ["Sat 03-28 09:00 WET", "Sun 03-29 09:00 WEST"]


def test_a_time_the_spring_clock_change_skips_fires_an_hour_later(tmp_path):
    half_hourly = schedule(tmp_path, '{cron: "*/30 * * * *"}', timezone="Europe/Lisbon")
    times = fire_times_between(half_hourly, local("2026-03-29T00:15"), local("2026-03-29T03:00"))
    assert shown(times) == ["Sun 03-29 00:30 WET", "Sun 03-29 02:00 WEST", "Sun 03-29 02:30 WEST",
                            "Sun 03-29 03:00 WEST"]
    at_half_past_one = schedule(tmp_path, '{cron: "30 1 * * *"}', timezone="Europe/Lisbon")
    assert next_fire_times(at_half_past_one, local("2026-03-29T00:00"), 1) == [utc("2026-03-29T01:30")]


def test_a_fixed_time_the_autumn_clock_change_repeats_fires_once(tmp_path):
    """On 2026-10-25 Lisbon's 01:00-02:00 happens twice; a daily 01:30 runs at the first one only."""
    daily = schedule(tmp_path, '{cron: "30 1 * * *"}', timezone="Europe/Lisbon")
    times = next_fire_times(daily, local("2026-10-24T12:00"), count=2)
    assert times == [utc("2026-10-25T00:30"), utc("2026-10-26T01:30")]


def test_a_wildcard_hour_fires_in_both_repeated_hours_of_the_autumn_change(tmp_path):
    half_hourly = schedule(tmp_path, '{cron: "*/30 * * * *"}', timezone="Europe/Lisbon")
    times = fire_times_between(half_hourly, utc("2026-10-24T23:45"), utc("2026-10-25T02:00"))
    assert times == [utc("2026-10-25T00:00"), utc("2026-10-25T00:30"), utc("2026-10-25T01:00"),
                     utc("2026-10-25T01:30"), utc("2026-10-25T02:00")]


def test_interval_without_start_counts_from_a_fixed_anchor_so_restarts_agree(tmp_path):
    job = schedule(tmp_path, "{interval: 10m}", timezone="Europe/Lisbon")
    now = local("2026-01-07T09:03:27")
    assert shown(next_fire_times(job, now, 2)) == ["Wed 01-07 09:10 WET", "Wed 01-07 09:20 WET"]
    assert next_fire_times(job, now, 2) == next_fire_times(job, now + dt.timedelta(seconds=30), 2)


def test_interval_with_start_fires_first_at_the_start(tmp_path):
    job = schedule(tmp_path, "{interval: 90m, start: 2026-01-05T08:00}", timezone="Europe/Lisbon")
    assert shown(next_fire_times(job, local("2026-01-01T00:00"), 3)) == [
        "Mon 01-05 08:00 WET", "Mon 01-05 09:30 WET", "Mon 01-05 11:00 WET"]


def test_interval_is_an_absolute_duration_across_a_clock_change(tmp_path):
    job = schedule(tmp_path, "{interval: 1h}", timezone="Europe/Lisbon")
    times = next_fire_times(job, local("2026-03-28T23:30"), 3)
    assert [b - a for a, b in zip(times, times[1:])] == [dt.timedelta(hours=1)] * 2
    assert shown(times) == ["Sun 03-29 00:00 WET", "Sun 03-29 02:00 WEST", "Sun 03-29 03:00 WEST"]


def test_date_fires_once_at_local_time(tmp_path):
    job = schedule(tmp_path, "{date: 2026-12-01T09:00}", timezone="Europe/Lisbon")
    assert next_fire_times(job, local("2026-11-01T00:00"), 3) == [utc("2026-12-01T09:00")]


def test_date_in_the_past_loads_and_never_fires(tmp_path):
    job = schedule(tmp_path, "{date: 2020-01-01T09:00}", timezone="UTC")
    now = utc("2026-01-01T00:00")
    assert next_fire_times(job, now) == []
    assert fire_times_between(job, utc("2021-01-01T00:00"), now) == []


def test_business_days_only_skips_the_weekend(tmp_path):
    job = schedule(tmp_path, '{cron: "0 9 * * *"}', timezone="Europe/Lisbon", calendar="weekdays")
    times = next_fire_times(job, local("2026-01-09T10:00"), 2)  # a Friday, after 09:00
    assert shown(times) == ["Mon 01-12 09:00 WET", "Tue 01-13 09:00 WET"]


def test_a_portuguese_holiday_is_skipped(tmp_path):
    job = schedule(tmp_path, '{cron: "0 9 * * *"}', timezone="Europe/Lisbon", calendar="pt-business")
    times = next_fire_times(job, local("2026-12-23T10:00"), 2)
    assert shown(times) == ["Thu 12-24 09:00 WET", "Mon 12-28 09:00 WET"]  # 25th is Christmas Day


def test_an_extra_closed_date_is_skipped(tmp_path):
    job = schedule(tmp_path, '{cron: "0 9 * * *"}', timezone="Europe/Lisbon", calendar="pt-christmas")
    assert shown(next_fire_times(job, local("2026-12-23T10:00"), 1)) == ["Mon 12-28 09:00 WET"]


def test_closed_days_are_judged_by_the_schedules_local_date(tmp_path):
    """23:30 in New York on a Friday is already Saturday in UTC; the schedule still fires."""
    job = schedule(tmp_path, "{cron: '30 23 * * *'}", timezone="America/New_York",
                   calendar="{business_days_only: true}")
    assert next_fire_times(job, utc("2026-01-09T12:00"), 1) == [utc("2026-01-10T04:30")]


def test_fire_times_between_skips_closed_days_in_a_long_window(tmp_path):
    job = schedule(tmp_path, '{cron: "*/5 * * * 1-5"}', timezone="Europe/Lisbon", calendar="pt-christmas")
    times = fire_times_between(job, local("2026-12-23T23:50"), local("2026-12-28T00:10"))
    assert shown(times) == ["Wed 12-23 23:55 WET", "Mon 12-28 00:00 WET", "Mon 12-28 00:05 WET",
                            "Mon 12-28 00:10 WET"]


def test_a_trigger_that_only_hits_closed_days_has_no_next_fire_time(tmp_path):
    job = schedule(tmp_path, '{cron: "0 9 * * 6"}', timezone="UTC", calendar="weekdays")
    assert next_fire_after(job, utc("2026-01-01T00:00")) is None


def test_naive_datetimes_are_refused_rather_than_guessed(tmp_path):
    job = schedule(tmp_path, '{cron: "0 9 * * *"}', timezone="UTC")
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_times(job, dt.datetime(2026, 1, 1))


def test_apscheduler_trigger_fires_at_the_same_times_without_jitter(tmp_path):
    job = schedule(tmp_path, '{cron: "0 9 * * *"}', timezone="Europe/Lisbon", calendar="pt-business")
    trigger = job.apscheduler_trigger()
    now = local("2026-12-24T10:00")
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first)
    assert isinstance(trigger, BaseTrigger)
    assert [first, second] == next_fire_times(job, now, 2)


def test_apscheduler_trigger_counts_a_fire_at_exactly_now(tmp_path):
    job = schedule(tmp_path, '{cron: "0 9 * * *"}', timezone="UTC")
    assert job.apscheduler_trigger().get_next_fire_time(None, utc("2026-01-07T09:00")) == utc("2026-01-07T09:00")


def test_jitter_delays_the_apscheduler_fire_and_the_nominal_time_is_recovered(tmp_path):
    job = schedule(tmp_path, '{cron: "*/5 * * * *"}', timezone="UTC", jitter="30s")
    trigger = job.apscheduler_trigger()
    now = utc("2026-01-07T09:01")
    fired = [trigger.get_next_fire_time(None, now) for _ in range(20)]
    assert all(utc("2026-01-07T09:05") <= t <= utc("2026-01-07T09:05:30") for t in fired)
    assert len(set(fired)) > 1
    assert {nominal_fire_time(job, t) for t in fired} == {utc("2026-01-07T09:05")}
    assert trigger.get_next_fire_time(fired[0], fired[0]) >= utc("2026-01-07T09:10")


def test_nominal_fire_time_is_none_for_a_moment_no_fire_explains(tmp_path):
    job = schedule(tmp_path, '{cron: "*/5 * * * *"}', timezone="UTC", jitter="30s")
    assert nominal_fire_time(job, utc("2026-01-07T09:07")) is None
    assert nominal_fire_time(job, utc("2026-01-07T09:05")) == utc("2026-01-07T09:05")
