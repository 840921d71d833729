"""Shared scenes for the volunteer self-service tests: a DST-zone hotline, a published
roster, local times, and the SMS outbox."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from tests.support import factories as f

LONDON = zoneinfo.ZoneInfo("Europe/London")
# Saturday before the 2027 spring change (Sunday 28 March, 01:00 UTC clocks go to 02:00 BST).
NOW = dt.datetime(2027, 3, 20, 12, 0, tzinfo=dt.UTC)


def london_hotline(**kw):
    kw.setdefault("name", "London Line")
    kw.setdefault("time_zone", "Europe/London")
    kw.setdefault("language", "en")
    return f.hotline(**kw)


def published_roster(hotline_, first_day=dt.date(2027, 3, 15), days=28):
    return f.roster(
        hotline_=hotline_,
        first_day=first_day,
        last_day=first_day + dt.timedelta(days=days - 1),
        status="published",
    )


def local(*args, tz=LONDON) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)
