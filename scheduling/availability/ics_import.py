"""Busy times from a volunteer's calendar file (.ics), for importing as time off."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from icalendar import (
    Calendar,
)

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_SPANS = 2000
IMPORT_DAYS_AHEAD = 366


class CalendarImportError(ValueError):
    """The upload cannot be imported; the message says why, for the volunteer."""


def _aware(value, tz) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return dt.datetime.combine(value, dt.time(0), tzinfo=tz)  # an all-day date


def busy_times(data: bytes, *, now: dt.datetime, tz) -> list[tuple[dt.datetime, dt.datetime]]:
    """Busy spans (UTC) from an .ics upload, recurring events expanded, from today to a year
    ahead. Free (TRANSP:TRANSPARENT) and cancelled events are skipped; floating times and
    all-day dates are read in `tz`. Raises CalendarImportError with a readable reason."""
    import recurring_ical_events

    if len(data) > MAX_IMPORT_BYTES:
        raise CalendarImportError(_("The file is larger than 1 MB."))
    try:
        cal = Calendar.from_ical(data)
    except Exception as exc:
        raise CalendarImportError(_("This file is not an iCalendar (.ics) file.")) from exc
    if not isinstance(cal, Calendar) or cal.name != "VCALENDAR":
        raise CalendarImportError(_("This file is not an iCalendar (.ics) file."))
    start = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(0), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=IMPORT_DAYS_AHEAD)
    spans = []
    try:
        for occurrence in recurring_ical_events.of(cal).between(start, end):
            if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
                continue
            if str(occurrence.get("TRANSP", "")).upper() == "TRANSPARENT":
                continue
            begins = occurrence.get("DTSTART")
            if begins is None:
                continue
            s = _aware(begins.dt, tz)
            finish = occurrence.get("DTEND")
            if finish is not None:
                e = _aware(finish.dt, tz)
            elif occurrence.get("DURATION") is not None:
                e = s + occurrence["DURATION"].dt
            else:
                e = s + (
                    dt.timedelta(days=1)
                    if not isinstance(begins.dt, dt.datetime)
                    else dt.timedelta(0)
                )
            if e <= s:
                continue
            spans.append((s.astimezone(dt.UTC), e.astimezone(dt.UTC)))
            if len(spans) > MAX_IMPORT_SPANS:
                raise CalendarImportError(
                    _("The file has more than %(count)d busy times in the next year.")
                    % {"count": MAX_IMPORT_SPANS}
                )
    except CalendarImportError:
        raise
    except Exception as exc:
        raise CalendarImportError(
            _("The calendar could not be read (a broken recurrence or date?): %(error)s")
            % {"error": str(exc)[:200]}
        ) from exc
    return sorted(set(spans))
