"""Writes to a volunteer's weekly availability and time off (pages and import)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.models import Volunteer
from scheduling.availability import ics_import
from scheduling.models import Availability, TimeOff
from scheduling.notify import conflicts_notify
from scheduling.selectors import Conflict, volunteer_conflicts


def conflicts_after_change(
    *, volunteer: Volunteer, now: dt.datetime | None = None
) -> list[Conflict]:
    """After a change to the volunteer's availability: the upcoming shifts it clashes with,
    and the coordinators told (once per volunteer per change, scheduling.notify)."""
    conflicts = volunteer_conflicts(volunteer, now=now or timezone.now())
    conflicts_notify(volunteer=volunteer, conflicts=conflicts, now=now)
    return conflicts


@transaction.atomic
def availability_add(
    *, volunteer: Volunteer, weekday: int, start_time, end_time, kind: str
) -> Availability:
    window = Availability(
        volunteer=volunteer, weekday=weekday, start_time=start_time, end_time=end_time, kind=kind
    )
    window.full_clean()
    window.save()
    conflicts_after_change(volunteer=volunteer)
    return window


@transaction.atomic
def availability_delete(*, volunteer: Volunteer, window_id: int) -> None:
    Availability.objects.filter(volunteer=volunteer, pk=window_id).delete()
    conflicts_after_change(volunteer=volunteer)  # the others may leave a shift uncovered


@transaction.atomic
def time_off_add(
    *, volunteer: Volunteer, starts_at: dt.datetime, ends_at: dt.datetime, reason: str = ""
) -> TimeOff:
    off = TimeOff(
        volunteer=volunteer, starts_at=starts_at, ends_at=ends_at, reason=reason.strip()[:200]
    )
    off.full_clean()
    off.save()
    conflicts_after_change(volunteer=volunteer)
    return off


@transaction.atomic
def time_off_delete(*, volunteer: Volunteer, time_off_id: int) -> None:
    TimeOff.objects.filter(volunteer=volunteer, pk=time_off_id).delete()


class CalendarImportThrottled(Exception):
    """Too many imports by one volunteer this hour; `retry_after` is in seconds."""

    def __init__(self, *, limit: int, retry_after: int):
        super().__init__(
            _(
                "You have imported %(count)d calendar files in the last hour, the most allowed. "
                "Please try again in %(minutes)d minutes."
            )
            % {"count": limit, "minutes": max(1, (retry_after + 59) // 60)}
        )
        self.limit = limit
        self.retry_after = retry_after


def calendar_import_allow(*, volunteer: Volunteer, now: dt.datetime) -> None:
    """Count one import by `volunteer` in this clock hour; raise CalendarImportThrottled past
    CALENDAR_IMPORTS_PER_HOUR. Counted in the cache, where `incr` is atomic: with Redis
    (REDIS_URL) every web process and host shares the count."""
    limit = settings.CALENDAR_IMPORTS_PER_HOUR
    hour = int(now.timestamp()) // 3600
    key = f"calendar-import:{volunteer.pk}:{hour}"
    cache.add(key, 0, timeout=3600 + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one afresh
        cache.set(key, 1, timeout=3600 + 60)
        count = 1
    if count > limit:
        raise CalendarImportThrottled(
            limit=limit, retry_after=(hour + 1) * 3600 - int(now.timestamp())
        )


def time_off_import(
    *, volunteer: Volunteer, data: bytes, now: dt.datetime | None = None, tz: str | None = None
) -> QuerySet[TimeOff]:
    """Replace the volunteer's imported time off with the busy times of an .ics file; returns
    every imported time off the volunteer now has (a queryset: count it, or iterate it).

    All or nothing: a file that cannot be read raises `ics_import.CalendarImportError` and the
    previous import stays. Event titles are not kept (they are the volunteer's private
    calendar); each span is recorded as "busy (imported)". At most CALENDAR_IMPORTS_PER_HOUR
    imports a volunteer an hour (`CalendarImportThrottled`).

    Not one transaction around everything, on purpose: the file is read first, outside any
    transaction (reading is bounded, but it is CPU work, and the database's write lock —
    SQLite has one for the whole file — must never wait on it), then one short transaction
    swaps the old import for the new.
    """
    now = now or timezone.now()
    calendar_import_allow(volunteer=volunteer, now=now)
    zone = zoneinfo.ZoneInfo(tz or settings.TIME_ZONE)
    spans = ics_import.busy_times(data, now=now, tz=zone)
    reason = _("busy (imported calendar)")
    imported = _imported_time_off_replace(volunteer=volunteer, spans=spans, reason=reason, now=now)
    with transaction.atomic():
        conflicts_after_change(volunteer=volunteer, now=now)
    return imported


def _utc(value: dt.datetime) -> dt.datetime:
    # As the database driver returns it: naive UTC (SQLite) or aware (PostgreSQL).
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _imported_time_off_replace(
    *, volunteer: Volunteer, spans: list[tuple[dt.datetime, dt.datetime]], reason: str, now
) -> QuerySet[TimeOff]:
    """Swap the volunteer's imported time off for `spans`, in one short transaction.

    Written in SQL rather than through the ORM on purpose: the transaction holds the
    database's write lock (SQLite has one for the whole file, and the incoming-call webhook
    waits for it), and bulk_create prepares each value in Python, field by field, while
    holding it — for 2,000 rows most of 100 ms. Here every value is prepared before the
    transaction; inside it only the rows that changed are deleted or inserted (a re-import
    of the same calendar writes nothing), with one statement per 500 rows."""
    db = connections[DEFAULT_DB_ALIAS]
    meta = TimeOff._meta
    names = ("volunteer", "starts_at", "ends_at", "reason", "imported", "created_at")
    fields = [meta.get_field(name) for name in names]
    rows = {}
    for starts_at, ends_at in spans:
        values = (volunteer.pk, starts_at, ends_at, reason, True, now)
        prepared = [f.get_db_prep_save(v, db) for f, v in zip(fields, values, strict=True)]
        rows[(starts_at, ends_at)] = prepared
    qn = db.ops.quote_name
    table = qn(meta.db_table)
    select = (
        f"SELECT {qn('id')}, {qn('starts_at')}, {qn('ends_at')} FROM {table}"  # noqa: S608
        f" WHERE {qn('volunteer_id')} = %s AND {qn('imported')}"
    )
    insert = (
        f"INSERT INTO {table} ({', '.join(qn(f.column) for f in fields)})"  # noqa: S608
        f" VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with transaction.atomic(), db.cursor() as cursor:
        cursor.execute(select, [volunteer.pk])
        gone = []
        for pk, starts_at, ends_at in cursor.fetchall():
            if rows.pop((_utc(starts_at), _utc(ends_at)), None) is None:
                gone.append(pk)  # no longer busy (or a duplicate)
        for i in range(0, len(gone), 500):
            chunk = gone[i : i + 500]
            cursor.execute(
                f"DELETE FROM {table} WHERE {qn('id')} IN ({', '.join(['%s'] * len(chunk))})",  # noqa: S608
                chunk,
            )
        new = list(rows.values())
        for i in range(0, len(new), 500):
            cursor.executemany(insert, new[i : i + 500])
    return TimeOff.objects.filter(volunteer=volunteer, imported=True)
