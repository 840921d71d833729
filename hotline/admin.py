from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from hotline.models import (
    Call,
    CallAttempt,
    CallbackRequest,
    Hotline,
    Message,
    Organisation,
    Role,
    Volunteer,
)
from hotline.phone import normalize_phone


class PhoneNormalisingForm(forms.ModelForm):
    """Accept numbers as people type them; store E.164."""

    def clean_phone_number(self):
        return normalize_phone(self.cleaned_data["phone_number"])


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Hotline)
class HotlineAdmin(admin.ModelAdmin):
    form = PhoneNormalisingForm
    list_display = ["name", "phone_number", "language", "time_zone", "is_active"]
    fieldsets = [
        (None, {"fields": ["name", "phone_number", "language", "time_zone", "is_active"]}),
        (
            _("Roster rules"),
            {"fields": ["min_rest_hours", "allow_back_to_back", "auto_approve_swaps"]},
        ),
        (
            _("Calls"),
            {"fields": ["greeting", "emergency_numbers", "ring_batch_size", "ring_timeout"]},
        ),
        (_("Escalations"), {"fields": ["ack_window_minutes"]}),
    ]


@admin.register(Volunteer)
class VolunteerAdmin(admin.ModelAdmin):
    form = PhoneNormalisingForm
    list_display = [
        "display_name",
        "user",
        "phone_number",
        "role_list",
        "crisis_trained",
        "organisation",
        "max_shifts_per_week",
        "is_active",
    ]
    list_filter = [
        "is_active",
        "is_counsellor",
        "is_family_educator",
        "is_supervisor",
        "crisis_trained",
        "organisation",
    ]
    search_fields = ["display_name", "user__username", "phone_number"]
    list_select_related = ["user", "organisation"]
    autocomplete_fields = ["user", "organisation"]

    @admin.display(description=_("roles"))
    def role_list(self, obj: Volunteer) -> str:
        return ", ".join(str(Role(r).label) for r in obj.roles)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the system (Twilio callbacks, the outbox): readable, not editable,
    so the admin can never contradict what happened on the phone line."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CallAttemptInline(admin.TabularInline):
    model = CallAttempt
    fields = ["volunteer", "tier", "batch", "offered_at", "result", "error", "ended_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
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
class CallbackRequestAdmin(ReadOnlyAdmin):
    list_display = ["call", "hotline", "requested_at", "done_at", "done_by"]
    list_filter = ["hotline"]
    list_select_related = ["call", "hotline", "done_by"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["to", "purpose", "status", "attempts", "last_error", "created_at", "sent_at"]
    list_filter = ["status", "purpose"]
    search_fields = ["to", "dedupe_key", "twilio_sid"]
    date_hierarchy = "created_at"


from hotline import crisis_admin  # noqa: E402,F401  (reports, escalations, audit log)
