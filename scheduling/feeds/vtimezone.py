"""VTIMEZONE components for calendar feeds.

icalendar's add_missing_timezones() writes each zone's history as long RDATE lists, which
dateutil (and so vobject) and some Outlook versions misread: a London event came out an hour
off. We write the form every client reads: a yearly RRULE per observance when the zone's
rule is the same every year of the range (nearly always), else one dated component per
transition."""

from __future__ import annotations

import calendar as calendar_module
import datetime as dt
import zoneinfo
from functools import lru_cache

from icalendar import (
    Component,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vRecur,
    vUTCOffset,
)

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _transitions(
    tz: zoneinfo.ZoneInfo, first_year: int, last_year: int
) -> list[tuple[dt.datetime, dt.timedelta, dt.timedelta]]:
    """(UTC instant, offset before, offset after) of every offset change in the years."""
    found = []
    t = dt.datetime(first_year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(days=1)
    before = t.astimezone(tz).utcoffset()
    while t < end:
        after = (t + step).astimezone(tz).utcoffset()
        if after != before:
            lo, hi = t, t + step  # offset(lo) == before, offset(hi) == after
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            instant = hi.replace(second=0, microsecond=0)
            found.append((instant, before, after))
            before = after
        t += step
    return found


def _observance(kind: str, tz, onset_local: dt.datetime, before, after, instant) -> Component:
    comp = TimezoneDaylight() if kind == "DAYLIGHT" else TimezoneStandard()
    comp.add("DTSTART", onset_local)
    comp.add("TZOFFSETFROM", vUTCOffset(before))
    comp.add("TZOFFSETTO", vUTCOffset(after))
    comp.add("TZNAME", instant.astimezone(tz).tzname())
    return comp


def _rule_key(onset_local: dt.datetime) -> tuple[int, int, int, dt.time]:
    month_days = calendar_module.monthrange(onset_local.year, onset_local.month)[1]
    week = -1 if onset_local.day + 7 > month_days else (onset_local.day - 1) // 7 + 1
    return onset_local.month, onset_local.weekday(), week, onset_local.time()


@lru_cache(maxsize=64)
def vtimezone(name: str, first_year: int, last_year: int) -> Timezone:
    tz = zoneinfo.ZoneInfo(name)
    zone = Timezone()
    zone.add("TZID", name)
    start = dt.datetime(first_year, 1, 1, tzinfo=dt.UTC)
    first_offset = start.astimezone(tz).utcoffset()
    # The offset in force at the start of the range, for everything before the first change.
    base_kind = "DAYLIGHT" if start.astimezone(tz).dst() else "STANDARD"
    zone.add_component(
        _observance(base_kind, tz, start.replace(tzinfo=None), first_offset, first_offset, start)
    )
    changes = _transitions(tz, first_year, last_year)
    groups: dict[tuple, list] = {}
    for instant, before, after in changes:
        kind = (
            "DAYLIGHT" if (instant + dt.timedelta(minutes=1)).astimezone(tz).dst() else "STANDARD"
        )
        onset = (instant + before).replace(tzinfo=None)  # local time before the change
        groups.setdefault((kind, before, after), []).append((instant, onset))
    for (kind, before, after), items in sorted(groups.items(), key=lambda kv: kv[1][0][0]):
        keys = {_rule_key(onset) for _instant, onset in items}
        yearly = len(keys) == 1 and len({onset.year for _i, onset in items}) == len(items)
        years = sorted({onset.year for _i, onset in items})
        consecutive = years == list(range(years[0], years[0] + len(years)))
        if yearly and consecutive and len(items) > 1:
            instant, onset = items[0]
            comp = _observance(kind, tz, onset, before, after, instant)
            month, weekday, week, _time = keys.pop()
            comp.add(
                "RRULE",
                vRecur(
                    freq="YEARLY",
                    bymonth=month,
                    byday=f"{week}{WEEKDAY_CODES[weekday]}",
                    until=items[-1][0].replace(tzinfo=dt.UTC),
                ),
            )
            zone.add_component(comp)
        else:
            for instant, onset in items:
                zone.add_component(_observance(kind, tz, onset, before, after, instant))
    return zone
