"""Organisations, hotlines, volunteers and their logins. Volunteers are written through
hotline.people.services, so a volunteer and their login stay in step here as in the API."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from hotline.accounts.reset import password_reset_send
from hotline.admin.base import PhoneNormalisingForm
from hotline.models import (
    ROLE_FLAG,
    Hotline,
    Organisation,
    Role,
    Volunteer,
)
from hotline.people import services as people

User = get_user_model()


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

    def save_model(self, request, obj, form, change):
        people.hotline_save(hotline=obj)


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
    actions = ["send_password_reset"]

    @admin.action(description=_("Send a password reset code by SMS"))
    def send_password_reset(self, request, queryset):
        sent, refused = [], []
        for volunteer in queryset.select_related("user"):
            try:
                password_reset_send(volunteer=volunteer, by=request.user)
            except PermissionDenied:
                refused.append(volunteer.display_name)
            else:
                sent.append(volunteer.display_name)
        if sent:
            self.message_user(request, _("Reset code sent to: %s") % ", ".join(sent))
        if refused:
            self.message_user(
                request,
                _("Not sent (no phone, inactive, or not yours to reset): %s") % ", ".join(refused),
                level=messages.WARNING,
            )

    @admin.display(description=_("roles"))
    def role_list(self, obj: Volunteer) -> str:
        return ", ".join(str(Role(r).label) for r in obj.roles)

    def get_readonly_fields(self, request, obj=None):
        # A volunteer keeps their login (their feed token, audit trail and history hang on
        # it), as in the API, where a volunteer's username changes but never their login.
        return ["user"] if obj else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {name: data[name] for name in people.VOLUNTEER_FIELDS if name in data}
        roles = [role for role, flag in ROLE_FLAG.items() if data.get(flag)]
        if change:
            changed = set(form.changed_data)
            people.volunteer_update(
                volunteer=obj,
                roles=roles if changed & set(ROLE_FLAG.values()) else None,
                **{name: value for name, value in fields.items() if name in changed},
            )
        else:
            created = people.volunteer_create(user=data["user"], roles=roles, **fields)
            obj.pk = created.pk


class UserAdmin(DjangoUserAdmin):
    """Django's user admin; (de)activating a login (de)activates its volunteer too."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            people.user_active_set(user=obj, is_active=obj.is_active)


admin.site.unregister(User)
admin.site.register(User, UserAdmin)
