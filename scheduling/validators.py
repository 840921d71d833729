"""Checks on a roster record's own fields, written once.

Model `clean()` methods call them (so the admin and every service that runs `full_clean`
apply them), and so do the page forms and the API serializers, which check before a
service runs. Each raises a ValidationError naming the field it is about, with the same
message everywhere. Phone numbers (hotline/phone.py) and time zones (hotline/timezones.py)
have their validators next to the models that migrations import them from.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from hotline.dates import date_in_range, validate_date_range

# A roster covers at most a year: its last day at most this many days after its first.
MAX_ROSTER_DAYS = 366
# A shift is one sitting at the phone: a day and a night at the very most.
MAX_SHIFT = dt.timedelta(hours=24)


def within_bounds(**values) -> bool:
    """Refuse, on its own field, any date or time outside 2000–2100 (hotline/dates.py).
    True when every value is inside (or missing), so the checks that compare them may run."""
    errors = {}
    for field, value in values.items():
        try:
            validate_date_range(value)
        except ValidationError as exc:
            errors[field] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return all(date_in_range(v) for v in values.values())


def ends_after_start(starts, ends, *, field: str, message) -> None:
    """`ends` must come after `starts` (either may be missing: nothing to compare yet)."""
    if starts is not None and ends is not None and ends <= starts:
        raise ValidationError({field: [ValidationError(message, code="ends_before_start")]})


def validate_shift_span(starts_at: dt.datetime | None, ends_at: dt.datetime | None) -> None:
    within_bounds(starts_at=starts_at, ends_at=ends_at)
    ends_after_start(
        starts_at, ends_at, field="ends_at", message=_("A shift must end after it starts.")
    )
    if starts_at is not None and ends_at is not None and ends_at - starts_at > MAX_SHIFT:
        raise ValidationError(
            {"ends_at": [ValidationError(_("A shift lasts at most 24 hours."), code="too_long")]}
        )


def validate_shift_in_roster(starts_at: dt.datetime | None, roster) -> None:
    """A shift starts on one of its roster's days, in the hotline's time (it may run past
    midnight after the last one)."""
    if starts_at is None or roster is None or not date_in_range(starts_at):
        return
    day = starts_at.astimezone(roster.hotline.tz).date()
    if not roster.first_day <= day <= roster.last_day:
        raise ValidationError(
            {
                "starts_at": [
                    ValidationError(
                        _("A shift must start on one of its roster's days (%(first)s to %(last)s).")
                        % {"first": roster.first_day, "last": roster.last_day},
                        code="outside_roster",
                    )
                ]
            }
        )


def validate_time_off_span(starts_at: dt.datetime | None, ends_at: dt.datetime | None) -> None:
    within_bounds(starts_at=starts_at, ends_at=ends_at)
    ends_after_start(
        starts_at, ends_at, field="ends_at", message=_("Time off must end after it starts.")
    )


def validate_window(start_time: dt.time | None, end_time: dt.time | None) -> None:
    """A weekly availability window is not empty. An end before the start runs into the next
    day (20:00–08:00); an end equal to the start would be no time at all."""
    if start_time is not None and start_time == end_time:
        raise ValidationError(
            {
                "end_time": [
                    ValidationError(
                        _("A window cannot start and end at the same time."), code="empty_window"
                    )
                ]
            }
        )


def validate_roster_days(first_day: dt.date | None, last_day: dt.date | None) -> None:
    within_bounds(first_day=first_day, last_day=last_day)
    if first_day is None or last_day is None:
        return
    if last_day < first_day:
        raise ValidationError({"last_day": [_("The last day cannot be before the first day.")]})
    if (last_day - first_day).days > MAX_ROSTER_DAYS:
        raise ValidationError({"last_day": [_("A roster covers at most a year.")]})


def validate_requirements(required_counsellors: int, crisis_trained_required: int) -> None:
    """The crisis-trained seats are counsellor seats: never more of them than counsellors."""
    if crisis_trained_required > required_counsellors:
        raise ValidationError(
            {
                "crisis_trained_required": [
                    _("Cannot require more crisis-trained counsellors than counsellors.")
                ]
            }
        )
