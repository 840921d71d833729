"""Records the system writes as volunteers act (swaps, drop asks, feed tokens, notices):
readable, and editable only where a coordinator has a reason to."""

from django.contrib import admin

from hotline.admin.base import ManagedRowsAdmin
from scheduling.models import (
    AssignmentNotice,
    CalendarToken,
    DropAsk,
    ReminderPreference,
    SwapRequest,
)


class _SystemRecordAdmin(admin.ModelAdmin):
    """Rows the system writes (swaps, SMS asks, tokens, notices): listed, never added or
    edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SwapRequest)
class SwapRequestAdmin(ManagedRowsAdmin, _SystemRecordAdmin):
    managed_hotline_path = "assignment__shift__roster__hotline__"
    """Read-only here: approving or rejecting goes through the swap pages, which apply the rules."""

    list_display = ["assignment", "kind", "status", "claimant", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = [
        "assignment__shift__roster__hotline",
        "assignment__volunteer",
        "claimant",
    ]


@admin.register(DropAsk)
class DropAskAdmin(ManagedRowsAdmin, _SystemRecordAdmin):
    managed_hotline_path = "swap__assignment__shift__roster__hotline__"
    list_display = ["swap", "volunteer", "asked_at"]
    list_select_related = ["volunteer"]


@admin.register(CalendarToken)
class CalendarTokenAdmin(_SystemRecordAdmin):
    list_display = ["user", "kind", "rotated_at"]
    list_select_related = ["user"]
    exclude = ["token", "token_hash"]  # the feed URL is a secret of its owner


@admin.register(ReminderPreference)
class ReminderPreferenceAdmin(admin.ModelAdmin):
    list_display = ["volunteer", "reminders_enabled"]
    list_select_related = ["volunteer"]


@admin.register(AssignmentNotice)
class AssignmentNoticeAdmin(_SystemRecordAdmin):
    list_display = ["assignment", "sequence"]
    list_select_related = ["assignment__volunteer", "assignment__shift__roster__hotline"]
