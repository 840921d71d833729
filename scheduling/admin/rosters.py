"""Rosters, shift patterns, shifts and assignments. Every assignment change, and every
roster and shift delete, goes through scheduling.services, so the admin keeps the same
rules as every other path."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from hotline.admin.base import ManagedRowsAdmin
from scheduling import services
from scheduling.models import (
    Assignment,
    Roster,
    Shift,
    ShiftPattern,
)
from scheduling.rules import RuleViolation


class AssignmentAdminForm(forms.ModelForm):
    """New assignments and role changes pass the rule layer, like every other path."""

    class Meta:
        model = Assignment
        fields = ["shift", "volunteer", "role", "locked", "override_reason"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self):
        data = super().clean()
        existing = self.instance if self.instance.pk else None
        # On the change page shift and volunteer are read-only, so not in the form's data.
        shift = data.get("shift") or (existing.shift if existing else None)
        volunteer = data.get("volunteer") or (existing.volunteer if existing else None)
        role = data.get("role")
        if not (shift and volunteer and role):
            return data
        if existing and role == existing.role:
            return data
        try:
            services.assignment_validate(
                shift=shift,
                volunteer=volunteer,
                role=role,
                by=self.request.user if self.request else None,
                override_reason=data.get("override_reason") or "",
                ignore=existing,
            )
        except RuleViolation as exc:
            raise forms.ValidationError(
                [forms.ValidationError(v.message, code=v.code) for v in exc.violations]
            ) from exc
        return data


def _refusal(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def checked_delete_selected(modeladmin, request, queryset):
    """The "delete selected" action, asking the model admin's `delete_check` first: if any
    selected row may not go, nothing is deleted and each refusal says why."""
    refused = []
    for obj in queryset:
        try:
            modeladmin.delete_check(obj)
        except ValidationError as exc:
            refused.append(f"{obj}: {_refusal(exc)}")
    if refused:
        for line in refused:
            modeladmin.message_user(request, line, messages.ERROR)
        return None
    try:
        # All or nothing, should a row change between the check and its delete.
        with transaction.atomic():
            return delete_selected(modeladmin, request, queryset)
    except ValidationError as exc:
        modeladmin.message_user(request, _refusal(exc), messages.ERROR)
        return None


class ServiceDeleteAdmin(admin.ModelAdmin):
    """Deletes through a service that may refuse (`delete_check`, `delete_one`): the delete
    page and the "delete selected" action refuse what the API refuses, with its message."""

    def delete_check(self, obj) -> None:
        raise NotImplementedError

    def delete_one(self, obj, *, by) -> None:
        raise NotImplementedError

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            _func, name, description = actions["delete_selected"]
            actions["delete_selected"] = (checked_delete_selected, name, description)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        try:
            if obj is not None:
                self.delete_check(obj)
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            # Refused before the confirmation page, or (changed meanwhile) by the service
            # itself, whose transaction rolled back: nothing was deleted.
            self.message_user(request, _refusal(exc), messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            )

    def delete_model(self, request, obj):
        self.delete_one(obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_one(obj, by=request.user)


class _RefusedOnSave(Exception):
    def __init__(self, violation: RuleViolation):
        super().__init__(violation.message)
        self.violation = violation


@admin.register(Assignment)
class AssignmentAdmin(ManagedRowsAdmin):
    managed_hotline_path = "shift__roster__hotline__"
    form = AssignmentAdminForm
    list_display = ["shift", "volunteer", "role", "status", "locked", "source", "sequence"]
    list_filter = ["status", "role", "locked", "source", "shift__roster__hotline"]
    search_fields = ["volunteer__display_name"]
    list_select_related = ["shift__roster__hotline", "volunteer"]
    autocomplete_fields = ["shift", "volunteer"]
    actions = ["cancel_selected"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class RequestForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return RequestForm

    def get_readonly_fields(self, request, obj=None):
        return ["shift", "volunteer"] if obj else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                services.assignment_update(
                    assignment=obj,
                    by=request.user,
                    role=data["role"],
                    locked=data["locked"],
                    override_reason=data.get("override_reason", ""),
                )
            else:
                created = services.assignment_create(
                    shift=data["shift"],
                    volunteer=data["volunteer"],
                    role=data["role"],
                    by=request.user,
                    locked=data["locked"],
                    override_reason=data.get("override_reason", ""),
                )
                obj.pk = created.pk
        except RuleViolation as exc:
            # Lost a race after the form's check (someone took the last seat meanwhile).
            raise _RefusedOnSave(exc) from exc

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _RefusedOnSave as refused:
            # The admin's transaction rolled back: nothing was saved. Back to the same form,
            # with the rule layer's reason, instead of a server error.
            self.message_user(request, refused.violation.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def has_delete_permission(self, request, obj=None):
        # Assignments are cancelled, never deleted: feeds must show the cancellation.
        return False

    @admin.action(description=_("Cancel selected assignments"))
    def cancel_selected(self, request, queryset):
        for assignment in queryset:
            services.assignment_cancel(assignment=assignment, by=request.user)
        messages.success(request, _("Cancelled."))


class ShiftAdminForm(forms.ModelForm):
    class Meta:
        model = Shift
        fields = [
            "roster",
            "starts_at",
            "ends_at",
            "required_counsellors",
            "required_family_educators",
            "required_supervisors",
            "crisis_trained_required",
        ]

    def clean(self):
        data = super().clean()
        if not self.instance.pk or self.errors:
            return data
        # The same rules the service applies: a shift stays in its roster, and a changed
        # shift must still suit its volunteers.
        services.shift_move_check(shift=self.instance, roster=data.get("roster"))
        stored = Shift.objects.select_related("roster__hotline").get(pk=self.instance.pk)
        changes = {name: data[name] for name in self.changed_data if name != "roster"}
        if services.shift_edit_mode(shift=stored, changes=changes) == services.STAGED:
            # Staged until the roster's changes are published: its rule problems show in the
            # board's pending diff, and the publish refuses the ones nobody may override.
            return data
        candidate = self.instance
        for name in self.Meta.fields:
            if name in data:
                setattr(candidate, name, data[name])
        problems = services.shift_hard_violations(candidate)
        if problems:
            raise forms.ValidationError(
                [forms.ValidationError(v.message, code=v.code) for v in problems]
            )
        return data


class AssignmentInline(admin.TabularInline):
    model = Assignment
    fields = ["volunteer", "role", "status", "locked", "source"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("volunteer")


@admin.register(Shift)
class ShiftAdmin(ManagedRowsAdmin, ServiceDeleteAdmin):
    managed_hotline_path = "roster__hotline__"
    form = ShiftAdminForm
    list_display = [
        "__str__",
        "roster",
        "required_counsellors",
        "crisis_trained_required",
        "required_family_educators",
        "required_supervisors",
    ]
    list_filter = ["roster__hotline", "roster"]
    list_select_related = ["roster__hotline"]
    search_fields = ["roster__hotline__name"]
    date_hierarchy = "starts_at"
    inlines = [AssignmentInline]
    readonly_fields = ["pending_edit"]

    @admin.display(description=_("pending change"))
    def pending_edit(self, obj: Shift) -> str:
        if obj is None or not obj.pk or not obj.has_pending_edit:
            return "—"
        planned = obj.planned()
        tz = obj.roster.hotline.tz
        seats = ", ".join(
            f"{Shift._meta.get_field(name).verbose_name}: {getattr(obj, name)} → {value}"
            for name, value in obj.pending_requirements.items()
        )
        words = [
            f"{obj.local_start:%Y-%m-%d %H:%M}–{obj.local_end:%H:%M} → "
            f"{planned.starts_at.astimezone(tz):%Y-%m-%d %H:%M}–"
            f"{planned.ends_at.astimezone(tz):%H:%M}"
        ]
        if seats:
            words.append(seats)
        return "; ".join(words)

    def delete_check(self, obj: Shift) -> None:
        services.shift_delete_check(shift=obj)

    def delete_one(self, obj: Shift, *, by) -> None:
        services.shift_delete(shift=obj, by=by)

    def save_model(self, request, obj, form, change):
        if change:
            fields = {k: form.cleaned_data[k] for k in form.changed_data}
            try:
                updated = services.shift_update(shift=obj, by=request.user, **fields)
            except RuleViolation as exc:
                messages.error(request, exc.message)
                return
            if updated.change_mode == services.STAGED:
                messages.info(
                    request,
                    _(
                        "This shift's roster is published: the change waits with its pending "
                        "changes until you publish them on the coverage board."
                    ),
                )
            elif updated.change_mode == services.URGENT:
                messages.warning(
                    request,
                    _(
                        "Urgent change: the shift starts within the freeze window, so the "
                        "change took effect now and its volunteers are told."
                    ),
                )
        else:
            super().save_model(request, obj, form, change)


@admin.register(ShiftPattern)
class ShiftPatternAdmin(ManagedRowsAdmin):
    managed_hotline_path = "hotline__"
    list_display = ["name", "hotline", "start_time", "end_time", "weekdays", "days", "is_active"]
    list_select_related = ["hotline"]
    list_filter = ["hotline", "days", "is_active"]


@admin.register(Roster)
class RosterAdmin(ManagedRowsAdmin, ServiceDeleteAdmin):
    managed_hotline_path = "hotline__"
    list_display = ["__str__", "hotline", "first_day", "last_day", "status", "published_at"]
    list_select_related = ["hotline"]
    list_filter = ["hotline", "status"]
    readonly_fields = ["status", "published_at"]
    actions = ["publish", "generate_shifts"]

    def delete_check(self, obj: Roster) -> None:
        services.roster_delete_check(roster=obj)

    def delete_one(self, obj: Roster, *, by) -> None:
        services.roster_delete(roster=obj, by=by)

    def save_model(self, request, obj, form, change):
        if change:
            fields = {k: form.cleaned_data[k] for k in form.changed_data}
            services.roster_update(roster=obj, **fields)
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description=_("Publish selected rosters"))
    def publish(self, request, queryset):
        for roster in queryset:
            services.roster_publish(roster=roster, by=request.user)
        messages.success(request, _("Published."))

    @admin.action(description=_("Create shifts from the hotline's shift patterns"))
    def generate_shifts(self, request, queryset):
        count = 0
        for roster in queryset:
            try:
                count += len(services.roster_generate_shifts(roster=roster))
            except ValidationError as exc:
                messages.error(request, f"{roster}: {' '.join(exc.messages)}")
        messages.success(request, _("%(count)d shifts created.") % {"count": count})
