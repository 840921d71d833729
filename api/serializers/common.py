import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from hotline import access
from hotline.dates import TIME_MESSAGE, date_in_range
from hotline.phone import normalize_phone


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset, always: a naive time is ambiguous across time zones."""

    default_error_messages = {
        "naive": _("Give the time with its UTC offset, e.g. 2026-03-01T20:00:00+08:00."),
        "out_of_range": TIME_MESSAGE,
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
        parsed = super().to_internal_value(value)
        # Far-off years overflow when shown in a hotline's zone (year 9999 + 8 h) and
        # mean nothing for a roster; refuse them here rather than fail later.
        if not date_in_range(parsed):
            self.fail("out_of_range")
        return parsed


class PhoneNumberField(serializers.CharField):
    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class ManagedChoicesMixin:
    """For a coordinator, every writable related field (hotline, roster, shift, volunteer,
    organisation) offers only the rows they manage (hotline/access.py `managed_q_for`): an id
    outside it is refused as "does not exist", the same answer as an id that does not."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not access.is_coordinator(user):
            return fields
        for field in fields.values():
            if isinstance(field, serializers.PrimaryKeyRelatedField) and not field.read_only:
                scope = access.managed_q_for(user, field.queryset.model)
                if scope is not None:
                    field.queryset = field.queryset.filter(scope)
        return fields
