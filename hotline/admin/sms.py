"""The SMS outbox, read-only."""

from django.contrib import admin

from hotline.admin.base import ReadOnlyAdmin
from hotline.models import (
    Message,
)


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "to",
        "purpose",
        "channel",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "purpose", "channel"]
    search_fields = ["to", "dedupe_key", "twilio_sid"]
    date_hierarchy = "created_at"
