"""Calls and callback requests: what happened on the line, read-only."""

from django.contrib import admin

from hotline.admin.base import ManagedRowsAdmin, ReadOnlyAdmin
from hotline.models import (
    Call,
    CallAttempt,
    CallbackRequest,
)


class CallAttemptInline(admin.TabularInline):
    model = CallAttempt
    fields = ["volunteer", "tier", "batch", "offered_at", "result", "error", "ended_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(ManagedRowsAdmin, ReadOnlyAdmin):
    managed_hotline_path = "hotline__"
    list_display = [
        "call_sid",
        "hotline",
        "category",
        "outcome",
        "answered_by",
        "arrived_at",
        "duration",
    ]
    list_filter = ["hotline", "outcome", "category"]
    list_select_related = ["hotline", "answered_by"]
    search_fields = ["call_sid", "caller_last4"]
    date_hierarchy = "arrived_at"
    exclude = ["caller_hash"]
    inlines = [CallAttemptInline]


@admin.register(CallbackRequest)
class CallbackRequestAdmin(ManagedRowsAdmin, ReadOnlyAdmin):
    managed_hotline_path = "hotline__"
    list_display = ["call", "hotline", "requested_at", "done_at", "done_by"]
    list_filter = ["hotline"]
    list_select_related = ["call", "hotline", "done_by"]
    # The caller's number and the note are read on the callback queue page (crisis staff of
    # the hotline), not here.
    exclude = ["number", "note"]
