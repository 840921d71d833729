"""Admin for auto-fill runs (read-only: runs are records of what the builder did)."""

from django.contrib import admin

from hotline.admin.base import ManagedRowsAdmin
from scheduling.models import AutofillRun


@admin.register(AutofillRun)
class AutofillRunAdmin(ManagedRowsAdmin):
    managed_hotline_path = "roster__hotline__"
    list_display = [
        "id",
        "roster",
        "mode",
        "status",
        "progress",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "mode"]
    list_select_related = ["roster__hotline", "requested_by"]
    readonly_fields = [f.name for f in AutofillRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
