"""Filters shared by the API's list endpoints."""

from __future__ import annotations

import django_filters
from django_filters.fields import IsoDateTimeField

from hotline.dates import BoundedDateTimeField


class BoundedIsoDateTimeField(BoundedDateTimeField, IsoDateTimeField):
    """ISO 8601, refused (400) outside 2000–2100 instead of overflowing in the database."""


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField
