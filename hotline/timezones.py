"""IANA time zone names: the only kind a hotline may carry."""

import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


@cache
def iana_names() -> frozenset[str]:
    # Legacy aliases such as "EST" or "PRC" exist in tzdata but are abbreviations or
    # country codes, not region/city names; refuse them so feeds never carry ambiguity.
    return frozenset(
        name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC"
    )


def validate_time_zone(value: str) -> None:
    if value not in iana_names():
        raise ValidationError(
            _("“%(value)s” is not an IANA time zone name such as Asia/Shanghai."),
            code="invalid_time_zone",
            params={"value": value},
        )
