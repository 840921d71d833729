"""Small factories: each builds a valid object, any field overridable by keyword."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import zoneinfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from hotline.access import COORDINATORS_GROUP
from hotline.models import Hotline, Organisation, Volunteer
from scheduling.models import Assignment, Availability, Roster, Shift, TimeOff

User = get_user_model()
_seq = itertools.count(1)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(*args, tz=SHANGHAI) -> dt.datetime:
    """An aware datetime: at(2026, 3, 2, 8) is 2026-03-02 08:00 in Shanghai."""
    return dt.datetime(*args, tzinfo=tz)


def phone(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    # +86135: no number written out in a test uses it, so a made-up number never collides
    # with one a test sets by hand (a unique column would refuse the second).
    return f"+86135{n:08d}"


def organisation(**kw) -> Organisation:
    kw.setdefault("name", f"Branch {next(_seq)}")
    return Organisation.objects.create(**kw)


def user(**kw):
    kw.setdefault("username", f"user{next(_seq)}")
    password = kw.pop("password", "pw-for-tests-1")
    return User.objects.create_user(password=password, **kw)


def coordinator_user(**kw):
    u = user(**kw)
    group, _ = Group.objects.get_or_create(name=COORDINATORS_GROUP)
    u.groups.add(group)
    return u


def volunteer(*, roles=("counsellor",), user_kw=None, **kw) -> Volunteer:
    n = next(_seq)
    kw.setdefault("user", user(**(user_kw or {})))
    kw.setdefault("display_name", f"Volunteer {n}")
    kw.setdefault("phone_number", phone(n))
    kw.setdefault("max_shifts_per_week", 5)
    # Tests read English by default (the test settings' language); tests of the Chinese
    # texts set language="zh-hans" themselves.
    kw.setdefault("language", "en")
    v = Volunteer(**kw)
    v.set_roles(roles)
    v.save()
    return v


def hotline(**kw) -> Hotline:
    n = next(_seq)
    kw.setdefault("name", f"Hotline {n}")
    kw.setdefault("phone_number", f"+86375{n:08d}")
    kw.setdefault("time_zone", "Asia/Shanghai")
    kw.setdefault("language", "en")
    return Hotline.objects.create(**kw)


def roster(*, hotline_=None, **kw) -> Roster:
    kw.setdefault("hotline", hotline_ or hotline())
    kw.setdefault("first_day", dt.date(2026, 3, 2))
    kw.setdefault("last_day", kw["first_day"] + dt.timedelta(days=6))
    return Roster.objects.create(**kw)


def shift(*, roster_=None, starts_at=None, hours: float = 6, **kw) -> Shift:
    kw.setdefault("roster", roster_ or roster())
    starts_at = starts_at or at(2026, 3, 2, 8)
    kw.setdefault("ends_at", starts_at + dt.timedelta(hours=hours))
    kw.setdefault("required_counsellors", 2)
    kw.setdefault("required_family_educators", 1)
    kw.setdefault("required_supervisors", 0)
    kw.setdefault("crisis_trained_required", 0)
    return Shift.objects.create(starts_at=starts_at, **kw)


def daily_shifts(*, roster_, days: int, hour: int, hours: float = 6, **kw) -> list[Shift]:
    """One shift a day for `days` days from the roster's first day, starting at `hour`
    (Shanghai time); `kw` as for `shift`."""
    first = roster_.first_day
    return [
        shift(
            roster_=roster_,
            starts_at=at(first.year, first.month, first.day, hour) + dt.timedelta(days=d),
            hours=hours,
            **kw,
        )
        for d in range(days)
    ]


def assignment(*, shift_=None, volunteer_=None, role="counsellor", **kw) -> Assignment:
    """A row written directly, bypassing the rules: for setting up a scene."""
    return Assignment.objects.create(
        shift=shift_ or shift(), volunteer=volunteer_ or volunteer(), role=role, **kw
    )


def availability(*, volunteer_, weekday, start, end, kind="available") -> Availability:
    return Availability.objects.create(
        volunteer=volunteer_, weekday=weekday, start_time=start, end_time=end, kind=kind
    )


def time_off(*, volunteer_, starts_at, ends_at, reason="holiday", **kw) -> TimeOff:
    return TimeOff.objects.create(
        volunteer=volunteer_, starts_at=starts_at, ends_at=ends_at, reason=reason, **kw
    )


def race(calls):
    """Run each call in its own thread and connection, released together by a barrier;
    returns each call's result, or the exception it raised (for the caller's assertions)."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the assertions of each test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return results
