"""Organisations, hotlines, volunteers and their logins. Volunteers are written through
hotline.people.services, so a volunteer and their login stay in step here as in the API."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from hotline import access
from hotline.accounts.reset import password_reset_send
from hotline.admin.base import ManagedRowsAdmin, PhoneNormalisingForm
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
class OrganisationAdmin(ManagedRowsAdmin):
    managed_organisation_path = ""
    search_fields = ["name"]
    list_display = ["name", "parent"]
    list_select_related = ["parent"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        user = request.user

        class PlacedForm(form):
            def clean_parent(self):
                # A new branch, or a move, only under an organisation the user manages.
                parent = self.cleaned_data.get("parent")
                moved = self.instance.pk is None or "parent" in self.changed_data
                if moved and not access.can_place_organisation(user, parent):
                    raise ValidationError(_("Choose an organisation you manage as the parent."))
                return parent

        return PlacedForm

    def get_readonly_fields(self, request, obj=None):
        # A coordinator's own top organisation hangs under one they do not manage: they may
        # rename it, not move it.
        ids = access.managed_organisation_ids(request.user)
        if obj is not None and ids is not None and obj.parent_id not in ids:
            return ["parent"]
        return []


@admin.register(Hotline)
class HotlineAdmin(ManagedRowsAdmin):
    managed_hotline_path = ""
    form = PhoneNormalisingForm
    list_display = ["name", "phone_number", "organisation", "language", "time_zone", "is_active"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "phone_number",
                    "organisation",
                    "language",
                    "time_zone",
                    "is_active",
                ]
            },
        ),
        (
            _("Roster rules"),
            {"fields": ["min_rest_hours", "allow_back_to_back", "auto_approve_swaps"]},
        ),
        (
            _("Calls"),
            {
                "fields": [
                    "greeting",
                    "emergency_numbers",
                    "ring_batch_size",
                    "ring_timeout",
                    "max_queue_seconds",
                ]
            },
        ),
        (_("Escalations"), {"fields": ["ack_window_minutes"]}),
    ]

    def save_model(self, request, obj, form, change):
        people.hotline_save(hotline=obj)


@admin.register(Volunteer)
class VolunteerAdmin(ManagedRowsAdmin):
    managed_organisation_path = "organisation__"
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

    def has_change_permission(self, request, obj=None):
        # Staff, superuser and coordinator accounts: superusers only (shown read-only).
        if obj is not None and not access.can_change_account(request.user, obj.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not access.can_change_account(request.user, obj.user):
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            # A volunteer record for a staff or coordinator login: superusers only.
            kwargs["queryset"] = User.objects.filter(is_staff=False, is_superuser=False).exclude(
                groups__name=access.COORDINATORS_GROUP
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {name: data[name] for name in people.VOLUNTEER_FIELDS if name in data}
        roles = [role for role, flag in ROLE_FLAG.items() if data.get(flag)]
        if change:
            changed = set(form.changed_data)
            people.volunteer_update(
                by=request.user,
                volunteer=obj,
                roles=roles if changed & set(ROLE_FLAG.values()) else None,
                **{name: value for name, value in fields.items() if name in changed},
            )
        else:
            created = people.volunteer_create(
                by=request.user, user=data["user"], roles=roles, **fields
            )
            obj.pk = created.pk


class UserAdmin(DjangoUserAdmin):
    """Django's user admin; (de)activating a login (de)activates its volunteer too.

    Roles cannot be climbed here: only superusers see or change the staff, superuser, group
    and permission fields, and only superusers change staff, superuser or coordinator
    accounts (hotline/access.py `can_change_account`); a coordinator sees the logins of the
    volunteers they manage and nothing else."""

    SUPERUSER_ONLY_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return (
            qs.filter(is_staff=False, is_superuser=False)
            .exclude(groups__name=access.COORDINATORS_GROUP)
            .filter(volunteer__isnull=False)
            .filter(access.managed_organisations_q(request.user, "volunteer__organisation__"))
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if access.can_grant_roles(request.user):
            return fieldsets
        trimmed = []
        for name, options in fieldsets:
            fields = [f for f in options["fields"] if f not in self.SUPERUSER_ONLY_FIELDS]
            if fields:
                trimmed.append((name, {**options, "fields": fields}))
        return trimmed

    def has_change_permission(self, request, obj=None):
        if obj is not None and not access.can_change_account(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not access.can_change_account(request.user, obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not access.can_grant_roles(request.user):
            # Belt and braces: whatever the form, a non-superuser never sets these.
            for name in ("is_staff", "is_superuser"):
                if name in form.changed_data:
                    raise PermissionDenied
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            people.user_active_set(by=request.user, user=obj, is_active=obj.is_active)

    def save_related(self, request, form, formsets, change):
        if not access.can_grant_roles(request.user) and (
            "groups" in form.changed_data or "user_permissions" in form.changed_data
        ):
            raise PermissionDenied
        super().save_related(request, form, formsets, change)


class GroupAdmin(DjangoGroupAdmin):
    """Groups carry roles (the coordinators group) and permissions: superusers only."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


admin.site.unregister(User)
admin.site.register(User, UserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, GroupAdmin)
