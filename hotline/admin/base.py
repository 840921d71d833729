"""Admin building blocks shared by the hotline and scheduling admins."""

from django import forms
from django.contrib import admin

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
