"""Reminder SMS before published shifts (24 h and 2 h before by default).

`reminders_send_due` runs from a django-q2 schedule every 5 minutes and from the
`send_due_reminders` command. Each reminder's SMS dedupe key is
`reminder:<assignment id>:<hours>h`, so running it twice, or again after a restart, never
sends one twice. Only the latest due reminder is sent: an assignment made 90 minutes before
its shift gets the 2-hour reminder, not a late 24-hour one too.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from hotline.models import Message, Role
from hotline.sms.outbox import sms_send
from scheduling.models import Assignment, ReminderPreference, Roster


def reminder_hours() -> list[int]:
    return sorted({int(h) for h in settings.SHIFT_REMINDER_HOURS if int(h) > 0})


def reminder_key(assignment_id: int, hours: int) -> str:
    return f"reminder:{assignment_id}:{hours}h"


def _due_kind(starts_at: dt.datetime, now: dt.datetime, hours: list[int]) -> int | None:
    """The smallest lead whose window has opened (starts_at - lead <= now), or None."""
    left = starts_at - now
    due = [h for h in hours if left <= dt.timedelta(hours=h)]
    return min(due) if due else None


def reminder_body(assignment: Assignment) -> str:
    shift = assignment.shift
    hotline = shift.roster.hotline
    start = shift.starts_at.astimezone(hotline.tz)
    end = shift.ends_at.astimezone(hotline.tz)
    return _(
        "Reminder: your hotline shift as %(role)s on %(hotline)s, %(day)s %(start)s–%(end)s "
        "(%(tz)s time). Reply or see My shifts if you cannot make it."
    ) % {
        "role": Role(assignment.role).label,
        "hotline": hotline.name,
        "day": f"{date_format(start, 'D')} {start:%Y-%m-%d}",
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
        "tz": hotline.time_zone,
    }


def reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Queue every reminder now due. Returns the number of SMS queued by this run.

    Three queries plus one insert per new reminder, whatever the number of shifts.
    """
    now = now or timezone.now()
    hours = reminder_hours()
    candidates = list(
        Assignment.objects.filter(
            status=Assignment.Status.ACTIVE,
            shift__roster__status=Roster.Status.PUBLISHED,
            shift__starts_at__gt=now,
            shift__starts_at__lte=now + dt.timedelta(hours=max(hours)),
            volunteer__is_active=True,
        )
        .exclude(volunteer__reminder_preference__reminders_enabled=False)
        .select_related("shift__roster__hotline", "volunteer")
        .order_by("shift__starts_at", "id")
    )
    due = {}
    for a in candidates:
        kind = _due_kind(a.shift.starts_at, now, hours)
        if kind is not None:
            due[reminder_key(a.pk, kind)] = a
    already = set(
        Message.objects.filter(dedupe_key__in=list(due)).values_list("dedupe_key", flat=True)
    )
    queued = 0
    for key, a in due.items():
        if key in already:
            continue
        with translation.override(a.volunteer.language):
            body = reminder_body(a)
        sms_send(
            to=a.volunteer.phone_number,
            body=body,
            dedupe_key=key,
            purpose="reminder",
            recipient=a.volunteer,
        )
        queued += 1
    return queued


def reminder_preference_set(*, volunteer, enabled: bool):
    pref, _created = ReminderPreference.objects.update_or_create(
        volunteer=volunteer, defaults={"reminders_enabled": enabled}
    )
    return pref


def reminders_enabled(volunteer) -> bool:
    pref = ReminderPreference.objects.filter(volunteer=volunteer).first()
    return True if pref is None else pref.reminders_enabled
