"""The monthly activity reports: read-only (their files are downloaded from /reports/)."""

from django.contrib import admin

from hotline.admin.base import ReadOnlyAdmin
from hotline.models import ActivityReport


@admin.register(ActivityReport)
class ActivityReportAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "first_day", "last_day", "language", "built_at", "emailed_at"]
    list_filter = ["organisation"]
    list_select_related = ["organisation"]
    exclude = ["xlsx", "docx", "figures"]
