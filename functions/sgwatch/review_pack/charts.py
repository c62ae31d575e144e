"""Geometry of the report's two inline SVG charts; ``templates/report.html`` draws them.

The timeline stacks the changes per day (periods up to 45 days) or week, by kind; the
coverage chart is one square per day of the period, green with a snapshot, red without.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..diff import GROUP_ADDED, GROUP_REMOVED
from .model import Review, Scope
from .period import Period

COLOURS = {"Added": "#2f9e6b", "Removed": "#d64545", "Updated": "#e0a020", "Groups": "#4a6fd1"}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    base: int  # y of the axis
    title: str
    grid: list[tuple[float, int]]  # (y, value) of each horizontal line
    bars: list[Bar]
    labels: list[tuple[float, str]]  # (x, text) under the axis


@dataclass(frozen=True)
class Day:
    x: int
    y: int
    missing: bool
    colour: str
    title: str


@dataclass(frozen=True)
class Coverage:
    width: int
    height: int
    cell: int
    days: list[Day]


def _buckets(period: Period) -> tuple[int, list[date]]:
    days = (period.end - period.start).days + 1
    size = 1 if days <= 45 else 7
    return size, [period.start + timedelta(days=i) for i in range(0, days, size)]


def timeline(review: Review) -> Timeline:
    """Stacked bars of changes per day (short periods) or week, with month labels."""
    period = review.period
    size, starts = _buckets(period)
    series = tuple(COLOURS)
    counts = [dict.fromkeys(series, 0) for _ in starts]
    for c in review.changes:
        index = min((c.detected_at.date() - period.start).days // size, len(starts) - 1)
        if index < 0:
            continue
        kind = "Groups" if c.change_type in (GROUP_ADDED, GROUP_REMOVED) else c.change_type
        counts[index][kind] += 1
    width, height, left, bottom, top = 1000, 240, 44, 34, 12
    plot_w, plot_h = width - left - 12, height - bottom - top
    peak = max([sum(c.values()) for c in counts] + [1])
    step = max(1, -(-peak // 4))
    ceiling = step * 4
    bar_w = plot_w / len(starts)
    grid = [(top + plot_h - plot_h * i / 4, step * i) for i in range(5)]
    bars: list[Bar] = []
    for i, (start, count) in enumerate(zip(starts, counts, strict=False)):
        x = left + i * bar_w
        y: float = top + plot_h
        end = min(start + timedelta(days=size - 1), period.end)
        label = start.isoformat() if size == 1 else f"{start.isoformat()} to {end.isoformat()}"
        for kind in series:
            if not count[kind]:
                continue
            h = plot_h * count[kind] / ceiling
            y -= h
            title = f"{label}: {count[kind]} {kind.lower()}"
            bars.append(Bar(x + bar_w * 0.15, y, bar_w * 0.7, h, COLOURS[kind], title))
    labels: list[tuple[float, str]] = []
    seen_months: set[tuple[int, int]] = set()
    for i, start in enumerate(starts):
        if size == 1 and (i % 7):
            continue
        month = (start.year, start.month)
        if size == 7 and month in seen_months:
            continue
        seen_months.add(month)
        labels.append((left + i * bar_w, start.strftime("%d %b") if size == 1 else start.strftime("%b %Y")))
    title = (f"Security group changes per {'day' if size == 1 else 'week'}, "
             f"{period.start.isoformat()} to {period.end.isoformat()}")
    return Timeline(width, height, left, width - 12, top + plot_h, title, grid, bars, labels)


def coverage(scope: Scope) -> Coverage:
    """One square per day: green with a snapshot, red without."""
    days = sorted(scope.coverage)
    cell, gap = 11, 2
    weeks = -(-len(days) // 7) or 1
    squares = []
    for i, day in enumerate(days):
        count = scope.coverage[day]
        squares.append(Day(
            2 + (i // 7) * (cell + gap), 2 + (i % 7) * (cell + gap), not count, "#2f9e6b" if count else "#d64545",
            f"{day.isoformat()}: {count} snapshot{'s' if count != 1 else ''}",
        ))
    return Coverage(weeks * (cell + gap) + 4, 7 * (cell + gap) + 4, cell, squares)
