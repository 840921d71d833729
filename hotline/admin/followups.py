"""Admin for follow-ups: read-only, and without the notes, the best time or the number —
reading a follow-up goes through its audited page (/follow-ups/<id>/). Debriefs are left out
of the list entirely (supervisors only, on the pages)."""

from django.contrib import admin

from hotline.admin.base import ReadOnlyAdmin
from hotline.models import CallBackAttempt, FollowUp, FollowUpSms


class AttemptInline(admin.TabularInline):
    model = CallBackAttempt
    fields = ["volunteer", "started_at", "result", "dial_status", "duration", "ended_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class SmsInline(admin.TabularInline):
    """SMS sent to the caller: who, when, how long, the outbox row (not the text)."""

    model = FollowUpSms
    fields = ["sent_by", "created_at", "length", "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "source", "hotline", "assignee", "due_at", "status"]
    list_filter = ["kind", "status", "source", "hotline"]
    list_select_related = ["hotline", "assignee"]
    fields = [
        "kind",
        "source",
        "hotline",
        "call",
        "callback",
        "report",
        "escalation",
        "assignee",
        "due_at",
        "method",
        "status",
        "safe_to_call",
        "safe_to_leave_message",
        "created_by",
        "created_at",
        "closed_at",
        "closed_by",
        "overdue_alerted_at",
        "notes_purged_at",
    ]
    inlines = [AttemptInline, SmsInline]

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(kind=FollowUp.Kind.DEBRIEF)
