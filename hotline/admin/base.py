"""Admin building blocks shared by the hotline and scheduling admins."""

from django import forms
from django.contrib import admin

from hotline import access
from hotline.phone import normalize_phone


class PhoneNormalisingForm(forms.ModelForm):
    """Accept numbers as people type them; store E.164."""

    def clean_phone_number(self):
        return normalize_phone(self.cleaned_data["phone_number"])


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the system (Twilio callbacks, the outbox): readable, not editable,
    so the admin can never contradict what happened on the phone line."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ManagedRowsAdmin(admin.ModelAdmin):
    """An admin whose rows a coordinator (staff, not superuser) sees only for what they
    manage (hotline/access.py): `managed_hotline_path` for rows on a hotline ("" for
    hotlines, "hotline__", "roster__hotline__"…) or `managed_organisation_path` for rows in
    an organisation ("" for organisations, "organisation__", "volunteer__organisation__").
    Choices of hotline and organisation in its forms are scoped the same way. Rows out of
    scope answer 404 like rows that do not exist."""

    managed_hotline_path: str | None = None
    managed_organisation_path: str | None = None

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if self.managed_hotline_path is not None:
            qs = qs.filter(access.managed_hotlines_q(request.user, self.managed_hotline_path))
        if self.managed_organisation_path is not None:
            qs = qs.filter(
                access.managed_organisations_q(request.user, self.managed_organisation_path)
            )
        return qs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = access.managed_q_for(request.user, db_field.related_model)
        if scope is not None and "queryset" not in kwargs:
            kwargs["queryset"] = db_field.related_model._default_manager.filter(scope)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
