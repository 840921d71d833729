"""Organisations, hotlines and volunteers."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from hotline.admin.base import PhoneNormalisingForm
from hotline.models import (
    Hotline,
    Organisation,
    Role,
    Volunteer,
)


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
