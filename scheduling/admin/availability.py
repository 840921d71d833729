"""Availability windows and time off."""

from django.contrib import admin

from hotline.admin.base import ManagedRowsAdmin
from scheduling.models import (
    Availability,
    TimeOff,
)


@admin.register(Availability)
class AvailabilityAdmin(ManagedRowsAdmin):
    managed_organisation_path = "volunteer__organisation__"
    list_display = ["volunteer", "weekday", "start_time", "end_time", "kind"]
    list_select_related = ["volunteer"]
    list_filter = ["kind", "weekday"]
    search_fields = ["volunteer__display_name"]


@admin.register(TimeOff)
class TimeOffAdmin(ManagedRowsAdmin):
    managed_organisation_path = "volunteer__organisation__"
    list_display = ["volunteer", "starts_at", "ends_at", "reason", "imported"]
    list_select_related = ["volunteer"]
    list_filter = ["imported"]
    search_fields = ["volunteer__display_name"]
