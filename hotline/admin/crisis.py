"""Admin for crisis records: read-only, and without the notes — reading a report or an
escalation goes through the audited pages (/calls/<id>/report/, /crisis/)."""

from django.contrib import admin

from hotline.admin.base import ManagedRowsAdmin, ReadOnlyAdmin
from hotline.models import AuditLog, CallReport, Escalation, EscalationAlert


@admin.register(CallReport)
class CallReportAdmin(ManagedRowsAdmin, ReadOnlyAdmin):
    managed_hotline_path = "call__hotline__"
    list_display = ["id", "call", "author", "category", "caller_group", "risk_level", "created_at"]
    list_filter = ["risk_level", "category", "caller_group", "follow_up_needed"]
    fields = [
        "call",
        "author",
        "category",
        "caller_group",
        "risk_level",
        "follow_up_needed",
        "created_at",
        "updated_at",
        "notes_purged_at",
    ]


class AlertInline(admin.TabularInline):
    model = EscalationAlert
    fields = ["tier", "round", "recipient", "alerted_at", "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Escalation)
class EscalationAdmin(ManagedRowsAdmin, ReadOnlyAdmin):
    managed_hotline_path = "hotline__"
    list_display = [
        "id",
        "hotline",
        "call",
        "status",
        "tier",
        "round",
        "opened_at",
        "acknowledged_by",
        "outcome",
    ]
    list_filter = ["status", "outcome", "hotline"]
    # acknowledged_by is nullable: the admin's automatic select_related() would skip it.
    list_select_related = ["hotline", "call", "acknowledged_by"]
    fields = [
        "call",
        "hotline",
        "source",
        "raised_by",
        "risk_level",
        "status",
        "code",
        "tier",
        "round",
        "next_advance_at",
        "opened_at",
        "acknowledged_at",
        "acknowledged_by",
        "ack_channel",
        "resolved_at",
        "resolved_by",
        "outcome",
    ]
    inlines = [AlertInline]


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "action"]
    fields = ["at", "actor", "actor_label", "action", "object_type", "object_id", "detail"]
