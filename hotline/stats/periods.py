"""A statistics period: whole local days `[first, last]` in one time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

MAX_DAYS = 400
MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date
    tz: zoneinfo.ZoneInfo

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> dt.datetime:
        """Local midnight starting `first` (aware; compare with UTC columns directly)."""
        return dt.datetime.combine(self.first, dt.time(0), tzinfo=self.tz)

    @property
    def end(self) -> dt.datetime:
        """Local midnight after `last` (exclusive)."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(0), tzinfo=self.tz)

    def previous(self) -> Period:
        """The period of the same length just before this one (month-on-month when this one
        is a month of the same length; a calendar month's previous month has its own length
        in `previous_month`)."""
        last = self.first - dt.timedelta(days=1)
        return Period(first=last - dt.timedelta(days=self.days - 1), last=last, tz=self.tz)

    def dates(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range(self.days)]


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    return month_of(today.replace(day=1) - dt.timedelta(days=1))


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    first = day.replace(month=first_month, day=1)
    _, last = month_of(first.replace(month=first_month + 2))
    return first, last
