"""Recurrence rules (RFC 5545 RRULE) expanded under a budget: occurrences, work and time are
counted *while* expanding, and expansion stops at the first limit.

Why not dateutil's rrule (which recurring-ical-events uses): it cannot be bounded from
outside. A rule whose filters never match (`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`) walks day
by day to the year 9999 without yielding anything — about 5 s of CPU for one line, and
UNTIL does not stop it — and `between()` builds the whole list (`FREQ=SECONDLY` is 31
million datetimes a year). Here the loop over periods is ours: each day a period looks at
costs one step of a `Budget` that also holds a deadline, so no rule, however written, runs
longer than the budget allows.

Supported: FREQ=DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL, COUNT, UNTIL, BYMONTH, BYMONTHDAY,
BYYEARDAY, BYDAY (with ordinals under MONTHLY and YEARLY), BYHOUR/BYMINUTE/BYSECOND (at most
`MAX_TIMES_PER_DAY` times a day), BYSETPOS and WKST, with dateutil's reading of them (tests
compare the two on ordinary rules). Refused with a reason: anything more frequent than daily,
BYWEEKNO, RSCALE/SKIP. A rule without COUNT skips straight to the window asked for, so a
daily rule that began in 1990 costs no more than one that began last week.

Pure: naive local (wall-clock) datetimes in, naive local datetimes out; the caller attaches
the time zone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
TOO_FREQUENT = ("SECONDLY", "MINUTELY", "HOURLY")
MAX_TIMES_PER_DAY = 24  # BYHOUR × BYMINUTE × BYSECOND
MAX_LIST = 400  # values in one BYxxx part
MAX_INTERVAL = 10_000
BYDAY_VALUE = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
INT_VALUE = re.compile(r"^[+-]?\d{1,4}$")


class RecurrenceError(ValueError):
    """A rule we will not expand. `code`: `too_frequent`, `unsupported` or `invalid`."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


class BudgetExceeded(Exception):
    """Expansion stopped at a limit: `kind` is `work` (steps) or `time` (the deadline)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class Budget:
    """Steps of work and a deadline, shared by everything one import expands. The deadline
    is in this thread's CPU time: it bounds what an upload costs the server, and a busy
    machine does not turn an ordinary file into a refused one.

    With `share` < 1 the work is also paced: after each `slice` of CPU it sleeps long
    enough that it uses at most that share of a core, leaving the rest to the calls the
    server is answering meanwhile (an import is one person waiting for a page; a call may
    be someone in crisis)."""

    def __init__(
        self,
        *,
        steps: int,
        seconds: float,
        share: float = 1.0,
        slice_seconds: float = 0.005,
        clock: Callable[[], float] = time.thread_time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.left = steps
        self.clock = clock
        self.sleep = sleep
        self.deadline = clock() + seconds
        self.share = share
        self.slice = slice_seconds
        self.slice_start = clock()
        self.calls = 0

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise BudgetExceeded("work")
        self.tick()

    def tick(self) -> None:
        """A unit of work that spends no step: the deadline and the pace, every 32 calls
        (a clock read costs)."""
        self.calls += 1
        if self.calls % 32 == 0:
            self.check_time()

    def check_time(self) -> None:
        now = self.clock()
        if now > self.deadline:
            raise BudgetExceeded("time")
        used = now - self.slice_start
        if self.share < 1 and used >= self.slice:
            self.sleep(used * (1 - self.share) / self.share)
            self.slice_start = self.clock()


@dataclass(frozen=True)
class Rule:
    freq: str
    interval: int = 1
    count: int | None = None
    until: dt.datetime | dt.date | None = None  # as written; `until_utc` says how to read it
    until_utc: bool = False
    bymonth: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    byday: tuple[tuple[int | None, int], ...] = ()  # (ordinal or None, weekday 0=Monday)
    byhour: tuple[int, ...] = ()
    byminute: tuple[int, ...] = ()
    bysecond: tuple[int, ...] = ()
    bysetpos: tuple[int, ...] = ()
    wkst: int = 0


def _ints(name: str, values: list[str], low: int, high: int, *, signed: bool = False) -> tuple:
    if len(values) > MAX_LIST:
        raise RecurrenceError("invalid", f"{name} lists too many values")
    out = []
    for value in values:
        if not INT_VALUE.match(value):
            raise RecurrenceError("invalid", f"{name}={value} is not a number")
        number = int(value)
        if not (low <= abs(number) <= high if signed else low <= number <= high) or (
            signed and number == 0
        ):
            raise RecurrenceError("invalid", f"{name}={value} is out of range")
        out.append(number)
    return tuple(sorted(set(out)))


def _until(value: str) -> tuple[dt.date | dt.datetime, bool]:
    try:
        if len(value) == 8:
            return dt.datetime.strptime(value, "%Y%m%d").date(), False  # noqa: DTZ007 - a date
        utc = value.endswith("Z")
        parsed = dt.datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S")  # noqa: DTZ007
        return parsed, utc
    except ValueError:
        raise RecurrenceError("invalid", f"UNTIL={value} is not a date") from None


def parse_rule(text: str) -> Rule:
    """An RRULE value (`FREQ=WEEKLY;BYDAY=MO,WE`) as a Rule, or RecurrenceError."""
    if len(text) > 2000:
        raise RecurrenceError("invalid", "the rule is too long")
    parts: dict[str, list[str]] = {}
    for item in text.strip().upper().split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or key in parts:
            raise RecurrenceError("invalid", f"{item!r} is not a rule part")
        parts[key] = value.split(",")
    freq = (parts.pop("FREQ", [""]) or [""])[0]
    if freq in TOO_FREQUENT:
        raise RecurrenceError("too_frequent", f"FREQ={freq}")
    if freq not in FREQUENCIES:
        raise RecurrenceError("invalid", f"FREQ={freq or '(missing)'}")
    fields: dict = {"freq": freq}
    for key, values in parts.items():
        if key == "INTERVAL":
            fields["interval"] = _ints(key, values[:1], 1, MAX_INTERVAL)[0]
        elif key == "COUNT":
            if not (values[0].isdigit() and len(values[0]) <= 9 and int(values[0]) > 0):
                raise RecurrenceError("invalid", f"COUNT={values[0]}")
            fields["count"] = int(values[0])
        elif key == "UNTIL":
            fields["until"], fields["until_utc"] = _until(values[0])
        elif key == "BYMONTH":
            fields["bymonth"] = _ints(key, values, 1, 12)
        elif key == "BYMONTHDAY":
            fields["bymonthday"] = _ints(key, values, 1, 31, signed=True)
        elif key == "BYYEARDAY":
            fields["byyearday"] = _ints(key, values, 1, 366, signed=True)
        elif key == "BYHOUR":
            fields["byhour"] = _ints(key, values, 0, 23)
        elif key == "BYMINUTE":
            fields["byminute"] = _ints(key, values, 0, 59)
        elif key == "BYSECOND":
            fields["bysecond"] = tuple(min(s, 59) for s in _ints(key, values, 0, 60))
        elif key == "BYSETPOS":
            fields["bysetpos"] = _ints(key, values, 1, 366, signed=True)
        elif key == "WKST":
            if values[0] not in WEEKDAYS:
                raise RecurrenceError("invalid", f"WKST={values[0]}")
            fields["wkst"] = WEEKDAYS.index(values[0])
        elif key == "BYDAY":
            if len(values) > MAX_LIST:
                raise RecurrenceError("invalid", "BYDAY lists too many values")
            days = set()
            for value in values:
                match = BYDAY_VALUE.match(value)
                if match is None:
                    raise RecurrenceError("invalid", f"BYDAY={value}")
                sign, number, day = match.groups()
                ordinal = None
                if number:
                    ordinal = -int(number) if sign == "-" else int(number)
                    if not 1 <= abs(ordinal) <= 53:
                        raise RecurrenceError("invalid", f"BYDAY={value}")
                days.add((ordinal, WEEKDAYS.index(day)))
            fields["byday"] = tuple(sorted(days, key=lambda d: (d[1], d[0] or 0)))
        elif key in ("BYWEEKNO", "RSCALE", "SKIP"):
            raise RecurrenceError("unsupported", key)
        elif not key.startswith("X-"):
            raise RecurrenceError("invalid", f"{key} is not a rule part")
    rule = Rule(**fields)
    if any(o is not None for o, _d in rule.byday) and freq in ("DAILY", "WEEKLY"):
        raise RecurrenceError("invalid", "BYDAY with a number needs FREQ=MONTHLY or YEARLY")
    times = len(rule.byhour or (0,)) * len(rule.byminute or (0,)) * len(rule.bysecond or (0,))
    if times > MAX_TIMES_PER_DAY:
        raise RecurrenceError("too_frequent", f"more than {MAX_TIMES_PER_DAY} times a day")
    return rule


# --- expansion ------------------------------------------------------------------------------


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _period_days(freq: str, period: tuple, months: tuple[int, ...]) -> list[dt.date]:
    if freq == "DAILY":
        return [period[0]]
    if freq == "WEEKLY":
        start = period[0]
        return [start + dt.timedelta(days=i) for i in range(7)]
    year, month = period if freq == "MONTHLY" else (period[0], None)
    days = []
    for m in (month,) if month else (months or range(1, 13)):
        days.extend(dt.date(year, m, d) for d in range(1, calendar.monthrange(year, m)[1] + 1))
    return days


class _Matcher:
    """Which days of a period a rule keeps (dateutil's reading: every BYxxx part given, or
    defaulted from DTSTART, must match)."""

    def __init__(self, rule: Rule, start: dt.datetime):
        self.rule = rule
        self.bymonth = set(rule.bymonth)
        self.bymonthday = rule.bymonthday
        self.byday = rule.byday
        if not (rule.byyearday or rule.bymonthday or rule.byday):
            if rule.freq == "YEARLY":
                self.bymonth = self.bymonth or {start.month}
                self.bymonthday = (start.day,)
            elif rule.freq == "MONTHLY":
                self.bymonthday = (start.day,)
            elif rule.freq == "WEEKLY":
                self.byday = ((None, start.weekday()),)
        self.plain_days = {d for o, d in self.byday if o is None}
        self.numbered = [(o, d) for o, d in self.byday if o is not None]
        # Numbered weekdays count within the month (MONTHLY, or YEARLY with BYMONTH) or the year.
        self.in_month = rule.freq == "MONTHLY" or bool(self.bymonth)

    def keeps(self, day: dt.date) -> bool:
        if self.bymonth and day.month not in self.bymonth:
            return False
        if self.bymonthday:
            month_len = calendar.monthrange(day.year, day.month)[1]
            if day.day not in self.bymonthday and day.day - month_len - 1 not in self.bymonthday:
                return False
        if self.rule.byyearday:
            year_len = 366 if calendar.isleap(day.year) else 365
            yday = day.timetuple().tm_yday
            if yday not in self.rule.byyearday and yday - year_len - 1 not in self.rule.byyearday:
                return False
        if self.byday:
            weekday = day.weekday()
            if weekday in self.plain_days:
                return True
            if self.rule.freq in ("DAILY", "WEEKLY") or not self.numbered:
                return False
            if self.in_month:
                index, length = day.day, calendar.monthrange(day.year, day.month)[1]
            else:
                index = day.timetuple().tm_yday
                length = 366 if calendar.isleap(day.year) else 365
            first, last = (index - 1) // 7 + 1, -((length - index) // 7 + 1)
            return any(d == weekday and o in (first, last) for o, d in self.numbered)
        return True


def occurrences(
    rule: Rule,
    start: dt.datetime,
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    until: dt.datetime | None,
    budget: Budget,
) -> Iterator[dt.datetime]:
    """Starts (naive local) of `rule` from `start` (DTSTART, which is always the first),
    in order, up to `window_end` (exclusive), `until` (inclusive, already in local time) or
    COUNT. Starts before `window_start` may be skipped without being produced (never when
    COUNT needs them counted). Every day looked at spends one step of `budget`."""
    matcher = _Matcher(rule, start)
    times = sorted(
        dt.time(h, m, s)
        for h, m, s in itertools.product(
            rule.byhour or (start.hour,),
            rule.byminute or (start.minute,),
            rule.bysecond or (start.second,),
        )
    )
    produced = 0
    if until is None or start <= until:
        yield start  # DTSTART is the first occurrence (RFC 5545 3.8.5.3)
        produced = 1
    freq, step = rule.freq, rule.interval
    # The first period: DTSTART's, or (without COUNT) the last one starting before the window.
    if freq == "DAILY":
        period: tuple = (start.date(),)
        if rule.count is None and window_start.date() > start.date():
            skip = (window_start.date() - start.date()).days // step
            period = (start.date() + dt.timedelta(days=skip * step),)
    elif freq == "WEEKLY":
        first = start.date() - dt.timedelta(days=(start.weekday() - rule.wkst) % 7)
        period = (first,)
        if rule.count is None and window_start.date() > first:
            weeks = (window_start.date() - first).days // 7 // step
            period = (first + dt.timedelta(weeks=weeks * step),)
    elif freq == "MONTHLY":
        period = (start.year, start.month)
        if rule.count is None:
            months = (window_start.year - start.year) * 12 + window_start.month - start.month
            if months > 0:
                period = _add_months(start.year, start.month, months // step * step)
    else:
        period = (start.year,)
        if rule.count is None and window_start.year > start.year:
            period = (start.year + (window_start.year - start.year) // step * step,)
    months = tuple(sorted(matcher.bymonth)) if freq == "YEARLY" else ()
    while True:
        days = _period_days(freq, period, months)
        budget.spend(len(days))
        if days[0] > window_end.date():
            return
        candidates = [
            dt.datetime.combine(day, t) for day in days if matcher.keeps(day) for t in times
        ]
        if rule.bysetpos and candidates:
            picked = set()
            for position in rule.bysetpos:
                index = position - 1 if position > 0 else len(candidates) + position
                if 0 <= index < len(candidates):
                    picked.add(candidates[index])
            candidates = sorted(picked)
        for candidate in candidates:
            if candidate <= start:
                continue  # before DTSTART, or DTSTART itself (already produced)
            if candidate >= window_end or (until is not None and candidate > until):
                return
            if rule.count is not None and produced >= rule.count:
                return
            produced += 1
            yield candidate
        if rule.count is not None and produced >= rule.count:
            return
        # The next period.
        try:
            if freq == "DAILY":
                period = (period[0] + dt.timedelta(days=step),)
            elif freq == "WEEKLY":
                period = (period[0] + dt.timedelta(weeks=step),)
            elif freq == "MONTHLY":
                period = _add_months(period[0], period[1], step)
            else:
                period = (period[0] + step,)
            year = period[0] if freq in ("MONTHLY", "YEARLY") else period[0].year
            if year >= dt.MAXYEAR:
                return
        except (OverflowError, ValueError):
            return
