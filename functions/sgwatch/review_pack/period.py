"""The review period: whole UTC days, both ends included, and the default six months."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Period:
    """Whole UTC days, both ends included."""

    start: date
    end: date

    @property
    def name(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def start_time(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_time(self) -> datetime:
        """Exclusive: midnight after the last day."""
        after = self.end + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=UTC)

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start_time <= moment < self.end_time

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _months_before(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_period(today: date) -> Period:
    """The six months ending the day before ``today`` (run on 1 July: 1 January - 30 June)."""
    end = today - timedelta(days=1)
    return Period(_months_before(end + timedelta(days=1), 6), end)


def parse_period(event: Mapping[str, Any] | None, today: date) -> Period:
    """``{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}``, or the default six months when absent."""
    event = event if isinstance(event, Mapping) else {}
    start, end = event.get("from"), event.get("to")
    if not start and not end:
        return default_period(today)
    if not (isinstance(start, str) and isinstance(end, str)):
        raise ValueError('give both "from" and "to" as YYYY-MM-DD, or neither for the last six months')
    try:
        period = Period(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError:
        raise ValueError(f'"from" and "to" must be dates as YYYY-MM-DD, got {start!r} and {end!r}') from None
    if period.end < period.start:
        raise ValueError(f'"from" ({start}) is after "to" ({end})')
    if (period.end - period.start).days > 3660:
        raise ValueError("the period is longer than ten years")
    return period
