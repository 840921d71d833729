"""Local-time and duration arithmetic done by the database itself.

Django's own `Trunc`/`Extract(tzinfo=…)` and datetime subtraction run, on SQLite, as Python
functions called once per row: a year of a busy line (100,000 calls) spent seconds in them.
These expressions use SQLite's native `datetime`/`strftime`/`julianday` and PostgreSQL's
`AT TIME ZONE`/`EXTRACT`, so grouping calls by local hour costs what a plain GROUP BY costs.

On SQLite the zone's UTC offsets are passed in as a CASE over the transitions (DST changes)
between `start` and `end`, found in Python from zoneinfo; rows outside that span get the
offset of the nearest end, so pass the span the rows lie in (with a day's margin).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.db.models import FloatField, Func, IntegerField, TextField

_STEP = dt.timedelta(hours=1)


def _offset(tz: zoneinfo.ZoneInfo, at: dt.datetime) -> int:
    return int(at.astimezone(tz).utcoffset().total_seconds())


@functools.lru_cache(maxsize=64)
def offset_changes(
    tz: zoneinfo.ZoneInfo, start: dt.datetime, end: dt.datetime
) -> tuple[int, list[tuple[dt.datetime, int]]]:
    """The zone's UTC offset (seconds) at `start`, and each (UTC instant, new offset) change
    up to `end`: sampled hourly, each change then pinned to the second by bisection."""
    start = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    end = end.astimezone(dt.UTC)
    first = current = _offset(tz, start)
    changes = []
    at = start
    while at < end:
        following = at + _STEP
        offset = _offset(tz, following)
        if offset != current:
            lo, hi = at, following  # offset(lo) == current, offset(hi) == new
            while hi - lo > dt.timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if _offset(tz, mid) == current:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi, offset))
            current = offset
        at = following
    return first, changes


class Local(Func):
    """One part of a UTC datetime column's local time in `tz`:

    - "hour": the local hour as text, "YYYY-MM-DD HH";
    - "month": the local month as text, "YYYY-MM";
    - "minute": minutes since local midnight (0–1439);
    - "weekday": 0 Sunday … 6 Saturday;
    - "day": a day number (only for comparing two columns' local days).
    """

    PARTS = {
        "hour": (
            "strftime('%%Y-%%m-%%d %%H', {local})",
            "to_char({local}, 'YYYY-MM-DD HH24')",
            TextField,
        ),
        "month": (
            "strftime('%%Y-%%m', {local})",
            "to_char({local}, 'YYYY-MM')",
            TextField,
        ),
        "minute": (
            "(CAST(strftime('%%H', {local}) AS INTEGER) * 60"
            " + CAST(strftime('%%M', {local}) AS INTEGER))",
            "(EXTRACT(HOUR FROM {local}) * 60 + EXTRACT(MINUTE FROM {local}))::integer",
            IntegerField,
        ),
        "weekday": (
            "CAST(strftime('%%w', {local}) AS INTEGER)",
            "EXTRACT(DOW FROM {local})::integer",
            IntegerField,
        ),
        "day": (
            "CAST(julianday(date({local})) AS INTEGER)",
            "({local})::date - DATE '2000-01-01'",
            IntegerField,
        ),
    }

    def __init__(self, expression, part: str, *, tz, start: dt.datetime, end: dt.datetime):
        self.part, self.tz = part, tz
        self.span = (start - dt.timedelta(days=2), end + dt.timedelta(days=2))
        super().__init__(expression, output_field=self.PARTS[part][2]())

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        first, changes = offset_changes(self.tz, *self.span)
        if not changes:
            offset_sql, offset_params = "%s", [first]
        else:
            whens, offset_params = [], []
            previous = first
            for at, offset in changes:
                whens.append(f"WHEN {column} < %s THEN %s")
                offset_params += [*params, at.strftime("%Y-%m-%d %H:%M:%S"), previous]
                previous = offset
            offset_sql = f"CASE {' '.join(whens)} ELSE %s END"
            offset_params.append(previous)
        local = f"datetime({column}, ({offset_sql}) || ' seconds')"
        template = self.PARTS[self.part][0]
        count = template.count("{local}")
        # Each use of {local} repeats the column's and the offsets' parameters.
        return template.replace("{local}", local), [*params, *offset_params] * count

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        local = f"({column} AT TIME ZONE %s)"
        template = self.PARTS[self.part][1]
        count = template.count("{local}")
        return template.replace("{local}", local), [*params, self.tz.key] * count


class Seconds(Func):
    """Seconds from `start` to `end` (two datetime expressions), as a float."""

    output_field = FloatField()

    def __init__(self, end, start):
        super().__init__(end, start)

    def as_sqlite(self, compiler, connection, **extra):
        (end, end_params), (start, start_params) = (
            compiler.compile(e) for e in self.source_expressions
        )
        return f"((julianday({end}) - julianday({start})) * 86400.0)", [
            *end_params,
            *start_params,
        ]

    def as_postgresql(self, compiler, connection, **extra):
        (end, end_params), (start, start_params) = (
            compiler.compile(e) for e in self.source_expressions
        )
        return f"EXTRACT(EPOCH FROM ({end} - {start}))::float", [*end_params, *start_params]
