"""Writes to a volunteer's weekly availability and time off (pages and import)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.models import Volunteer
from scheduling.availability import ics_import
from scheduling.models import Availability, TimeOff


@transaction.atomic
def availability_add(
    *, volunteer: Volunteer, weekday: int, start_time, end_time, kind: str
) -> Availability:
    window = Availability(
        volunteer=volunteer, weekday=weekday, start_time=start_time, end_time=end_time, kind=kind
    )
    window.full_clean()
    window.save()
    return window


@transaction.atomic
def availability_delete(*, volunteer: Volunteer, window_id: int) -> None:
    Availability.objects.filter(volunteer=volunteer, pk=window_id).delete()


@transaction.atomic
def time_off_add(
    *, volunteer: Volunteer, starts_at: dt.datetime, ends_at: dt.datetime, reason: str = ""
) -> TimeOff:
    off = TimeOff(
        volunteer=volunteer, starts_at=starts_at, ends_at=ends_at, reason=reason.strip()[:200]
    )
    off.full_clean()
    off.save()
    return off


@transaction.atomic
def time_off_delete(*, volunteer: Volunteer, time_off_id: int) -> None:
    TimeOff.objects.filter(volunteer=volunteer, pk=time_off_id).delete()


@transaction.atomic
def time_off_import(
    *, volunteer: Volunteer, data: bytes, now: dt.datetime | None = None, tz: str | None = None
) -> list[TimeOff]:
    """Replace the volunteer's imported time off with the busy times of an .ics file.

    All or nothing: a file that cannot be read raises `ics_import.CalendarImportError` and the
    previous import stays. Event titles are not kept (they are the volunteer's private
    calendar); each span is recorded as "busy (imported)".
    """
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(tz or settings.TIME_ZONE)
    spans = ics_import.busy_times(data, now=now, tz=zone)
    TimeOff.objects.filter(volunteer=volunteer, imported=True).delete()
    reason = _("busy (imported calendar)")
    return TimeOff.objects.bulk_create(
        [
            TimeOff(volunteer=volunteer, starts_at=s, ends_at=e, reason=reason, imported=True)
            for s, e in spans
        ]
    )
