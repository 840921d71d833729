"""The calls list's filters (GET): period, outcome, category, risk, answered by, and the
caller's last four digits."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from hotline.models import Call, ReportCategory, RiskLevel, Volunteer
from hotline.stats.periods import MAX_DATE, MIN_DATE


class CallFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)
    outcome = forms.ChoiceField(
        label=_("outcome"), required=False, choices=[("", "—"), *Call.Outcome.choices]
    )
    category = forms.ChoiceField(
        label=_("category"), required=False, choices=[("", "—"), *ReportCategory.choices]
    )
    risk = forms.TypedChoiceField(
        label=_("risk level"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *RiskLevel.choices],
    )
    answered_by = forms.ModelChoiceField(
        label=_("answered by"), required=False, queryset=Volunteer.objects.none()
    )
    last4 = forms.CharField(
        label=_("caller's last four digits"),
        required=False,
        max_length=4,
        validators=[RegexValidator(r"^\d{4}$", _("Give the last four digits."))],
    )

    def __init__(self, *args, volunteers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if volunteers is None:
            del self.fields["answered_by"]
        else:
            self.fields["answered_by"].queryset = volunteers

    def _clean_day(self, name: str) -> dt.date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not MIN_DATE <= day <= MAX_DATE:
            raise forms.ValidationError(_("Give a date between 2000 and 2100."))
        return day

    def clean_start(self):
        return self._clean_day("start")

    def clean_end(self):
        return self._clean_day("end")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("start", _("The first day comes after the last day."))
        return data
