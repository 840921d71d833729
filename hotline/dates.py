"""The dates the project accepts anywhere: from 2000 to 2100.

Everything people and programs type — filters, forms, the board's `?week=`, the API, roster
days, shift times — is checked against these bounds, so year 1 or 9999 is a clear error in
the user's language instead of an overflow deep in a time-zone conversion (a 500). Rosters,
calls and reports never need more.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2100, 1, 1)  # exclusive
MIN_DATETIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MAX_DATETIME = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)  # exclusive

DATE_MESSAGE = _("Give a date between the years 2000 and 2100.")
TIME_MESSAGE = _("Give a time between the years 2000 and 2100.")


def date_in_range(value: dt.date | dt.datetime | None) -> bool:
    """Is `value` (a date, or an aware or naive datetime) within the bounds? None is."""
    if value is None:
        return True
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return MIN_DATETIME.replace(tzinfo=None) <= value < MAX_DATETIME.replace(tzinfo=None)
        return MIN_DATETIME <= value < MAX_DATETIME
    return MIN_DATE <= value < MAX_DATE


def validate_date_range(value) -> None:
    """A field validator: refuse dates and times outside 2000–2100."""
    if not date_in_range(value):
        message = TIME_MESSAGE if isinstance(value, dt.datetime) else DATE_MESSAGE
        raise ValidationError(message, code="out_of_range")


class BoundedDateTimeField(forms.DateTimeField):
    """A form's date and time, refused outside 2000–2100 with a message, never a 500 (a
    time near year 1 or 9999 overflows when moved between time zones)."""

    def to_python(self, value):
        try:
            result = super().to_python(value)
        except OverflowError:
            raise ValidationError(TIME_MESSAGE, code="out_of_range") from None
        validate_date_range(result)
        return result
