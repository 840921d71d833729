"""Phone numbers: parse anything a person types, store E.164."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """Return `value` as E.164, or raise ValidationError with a message for the user."""
    if not value or not str(value).strip():
        raise ValidationError(_("Enter a phone number."), code="invalid_phone")
    try:
        parsed = phonenumbers.parse(str(value), region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), code="invalid_phone", params={"value": value}
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number."),
            code="invalid_phone",
            params={"value": value},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """Model-field validator: the stored value must already be a valid E.164 number."""
    if normalize_phone(value) != value:
        raise ValidationError(
            _("Store phone numbers in E.164 form, e.g. +8613800138000."), code="not_e164"
        )
