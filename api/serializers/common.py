import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from hotline.phone import normalize_phone


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset, always: a naive time is ambiguous across time zones."""

    default_error_messages = {
        "naive": _("Give the time with its UTC offset, e.g. 2026-03-01T20:00:00+08:00."),
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        elif isinstance(value, dt.datetime) and value.tzinfo is None:
            self.fail("naive")
        return super().to_internal_value(value)


class PhoneNumberField(serializers.CharField):
    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
