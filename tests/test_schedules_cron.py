"""Cron expressions as people write them: lists, ranges, steps, names and shortcuts fire when they say."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bastidor.schedule import CronError, CronSpec

UTC = dt.timezone.utc
JAN_1 = dt.datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def fires(expression: str, count: int = 4, start: dt.datetime = JAN_1) -> list[str]:
    spec = CronSpec.parse(expression, ZoneInfo("UTC"))
    times, moment = [], start
    for _ in range(count):
        moment = spec.next_after(moment)
        times.append(moment.strftime("%a %m-%d %H:%M"))
    return times


@pytest.mark.parametrize(("expression", "expected"), [
    ("0 8,12,17 * * *", ["Thu 01-01 08:00", "Thu 01-01 12:00", "Thu 01-01 17:00", "Fri 01-02 08:00"]),
    ("15 */6 * * *", ["Thu 01-01 00:15", "Thu 01-01 06:15", "Thu 01-01 12:15", "Thu 01-01 18:15"]),
    ("0 9 * jan,jul *", ["Thu 01-01 09:00", "Fri 01-02 09:00", "Sat 01-03 09:00", "Sun 01-04 09:00"]),
    ("0 9 1 */3 *", ["Thu 01-01 09:00", "Wed 04-01 09:00", "Wed 07-01 09:00", "Thu 10-01 09:00"]),
    ("30 18 * * MON-FRI", ["Thu 01-01 18:30", "Fri 01-02 18:30", "Mon 01-05 18:30", "Tue 01-06 18:30"]),
    ("0 9 * * */2", ["Thu 01-01 09:00", "Sat 01-03 09:00", "Sun 01-04 09:00", "Tue 01-06 09:00"]),
    ("0 9 1-7 * 1", ["Mon 01-05 09:00", "Mon 02-02 09:00", "Mon 03-02 09:00", "Mon 04-06 09:00"]),
    ("0 0 29 2 *", ["Tue 02-29 00:00", "Sun 02-29 00:00", "Fri 02-29 00:00", "Wed 02-29 00:00"]),
    ("@hourly", ["Thu 01-01 01:00", "Thu 01-01 02:00", "Thu 01-01 03:00", "Thu 01-01 04:00"]),
    ("@monthly", ["Sun 02-01 00:00", "Sun 03-01 00:00", "Wed 04-01 00:00", "Fri 05-01 00:00"]),
])
def test_cron_expression_fires_when_it_says(expression, expected):
    assert fires(expression) == expected


def test_first_monday_uses_and_not_classic_crons_or_for_day_and_weekday():
    """Both the day of month and the weekday must match (documented in docs/schedules.md)."""
    assert all(time.startswith("Mon") for time in fires("0 9 1-7 * mon", count=12))


@pytest.mark.parametrize(("expression", "message", "offset"), [
    ("0 9 * *", "has 4", 0),
    ("0 9 * * * 2026", "has 6: seconds are not supported", 0),
    ("*/0 * * * *", "the step after / must be a whole number of at least 1", 0),
    ("0 17-9 * * *", "range '17-9' goes backwards", 2),
    ("0 9 * * 8", "cron weekday 8 is out of range: use 0 to 7 (0 and 7 are Sunday)", 8),
    ("0 9 * janu *", "cron month 'janu' is not a number or a name, did you mean 'jan'?", 6),
    ("0 9 L * *", "cron day of month 'L' is not a number", 4),
    ("0 9 ? * *", "cron day of month '?' is not understood", 4),
    ("0 9 31 4,6 *", "cron never fires: day 31 does not occur in April, June", 4),
    ("@fortnightly", "unknown cron shortcut '@fortnightly'", 0),
    ("0 9,x * * *", "cron hour 'x' is not a number", 4),
])
def test_a_bad_cron_says_what_is_wrong_and_where(expression, message, offset):
    with pytest.raises(CronError) as caught:
        CronSpec.parse(expression, ZoneInfo("UTC"))
    assert message in str(caught.value)
    assert caught.value.offset == offset
