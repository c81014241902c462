"""The geometry of the KPI trend charts, drawn as inline SVG by `kpis_charts.html` (no JavaScript).

A chart is one value per day: bars (items per day) or a line with gaps on days without data (success
rate, handling time), an optional dashed goal line, three labelled gridlines, and a sentence that
describes it for screen readers. Coordinates are in the SVG's own units (`WIDTH` x `HEIGHT`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Sequence

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
X_LABELS = 6

Number = float | int | Decimal


@dataclass(frozen=True)
class Mark:
    """One day's bar (x, y, width, height) or point (x, y); `text` is its value for a tooltip."""

    x: float
    y: float
    width: float
    height: float
    text: str


@dataclass(frozen=True)
class Label:
    """A text at (x, y): a gridline value on the left or a date under the plot."""

    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    """Everything the template needs to draw one chart."""

    key: str
    title: str
    description: str
    kind: str
    """``bars`` or ``line``."""
    marks: list[Mark] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    """SVG `points` of each unbroken run of the line (days without data break it)."""
    gridlines: list[Label] = field(default_factory=list)
    dates: list[Label] = field(default_factory=list)
    goal_y: float | None = None
    goal_text: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    bottom_edge: int = HEIGHT - BOTTOM


def bar_chart(key: str, title: str, days: Sequence[dt.date], values: Sequence[Number | None],
              shown: Callable[[Number], str], *, goal: Number | None = None, goal_text: str = "") -> Chart:
    """One bar per day (a day without data has no bar)."""
    top = _scale_top(values, goal)
    slot = PLOT_WIDTH / max(1, len(days))
    marks = [Mark(LEFT + index * slot + slot * 0.15, _y(value, top), slot * 0.7, HEIGHT - BOTTOM - _y(value, top),
                  f"{day.isoformat()}: {shown(value)}")
             for index, (day, value) in enumerate(zip(days, values)) if value]
    return Chart(key, title, _describe(title, days, values, shown, goal_text), "bars", marks=marks,
                 gridlines=_gridlines(top, shown), dates=_dates(days, slot), goal_y=_goal_y(goal, top),
                 goal_text=goal_text)


def line_chart(key: str, title: str, days: Sequence[dt.date], values: Sequence[Number | None],
               shown: Callable[[Number], str], *, top: Number | None = None, goal: Number | None = None,
               goal_text: str = "") -> Chart:
    """A line through each day's value, broken on days without data; `top` fixes the scale (e.g. 100%)."""
    scale_top = float(top) if top is not None else _scale_top(values, goal)
    slot = PLOT_WIDTH / max(1, len(days))
    marks, segments, current = [], [], []
    for index, (day, value) in enumerate(zip(days, values)):
        if value is None:
            segments, current = _close(segments, current), []
            continue
        x, y = LEFT + index * slot + slot / 2, _y(value, scale_top)
        marks.append(Mark(x, y, 0, 0, f"{day.isoformat()}: {shown(value)}"))
        current.append(f"{x:.1f},{y:.1f}")
    return Chart(key, title, _describe(title, days, values, shown, goal_text), "line", marks=marks,
                 segments=_close(segments, current), gridlines=_gridlines(scale_top, shown),
                 dates=_dates(days, slot), goal_y=_goal_y(goal, scale_top), goal_text=goal_text)


def _close(segments: list[str], current: list[str]) -> list[str]:
    return [*segments, " ".join(current)] if current else segments


def _scale_top(values: Sequence[Number | None], goal: Number | None) -> float:
    """A round number at or above the highest value and the goal (1, 2, 2.5 or 5 times a power of ten)."""
    highest = max([float(value) for value in values if value is not None] + [float(goal or 0), 0.0])
    if highest <= 0:
        return 1.0
    power = 10 ** (len(str(int(highest))) - 1) if highest >= 1 else 0.1
    while power > highest:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= highest:
            return step * power
    return 10 * power


def _y(value: Number | None, top: float) -> float:
    share = min(max(float(value or 0) / top, 0.0), 1.0)
    return TOP + PLOT_HEIGHT * (1 - share)


def _goal_y(goal: Number | None, top: float) -> float | None:
    return None if goal is None else _y(goal, top)


def _gridlines(top: float, shown: Callable[[Number], str]) -> list[Label]:
    return [Label(LEFT - 6, _y(top * share, top), shown(_tidy(top * share))) for share in (0, 0.5, 1)]


def _tidy(value: float) -> Number:
    return int(value) if float(value).is_integer() else Decimal(str(round(value, 6)))


def _dates(days: Sequence[dt.date], slot: float) -> list[Label]:
    if not days:
        return []
    step = max(1, -(-len(days) // X_LABELS))
    picked = list(range(0, len(days), step))
    return [Label(LEFT + index * slot + slot / 2, HEIGHT - 8, days[index].strftime("%d %b")) for index in picked]


def _describe(title: str, days: Sequence[dt.date], values: Sequence[Number | None],
              shown: Callable[[Number], str], goal_text: str) -> str:
    """A sentence for screen readers: the span, the days with data, the highest and lowest day, the goal."""
    if not days:
        return f"{title}: no days in the period."
    known = [(value, day) for day, value in zip(days, values) if value is not None]
    span = f"{title} per day from {days[0].isoformat()} to {days[-1].isoformat()}"
    goal = f" Goal: {goal_text}." if goal_text else ""
    if not known:
        return f"{span}: no data.{goal}"
    high, low = max(known, key=lambda pair: pair[0]), min(known, key=lambda pair: pair[0])
    return (f"{span}, {len(known)} of {len(days)} days with data. Highest {shown(high[0])} on "
            f"{high[1].isoformat()}, lowest {shown(low[0])} on {low[1].isoformat()}.{goal}")
