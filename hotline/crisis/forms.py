"""The crisis pages' forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from hotline.models import CallReport, Escalation, RiskLevel


class ReportForm(forms.ModelForm):
    risk_level = forms.TypedChoiceField(
        label=gettext_lazy("Risk level"),
        choices=RiskLevel.choices,
        coerce=int,
        widget=forms.RadioSelect,
    )

    class Meta:
        model = CallReport
        fields = [
            "category",
            "caller_group",
            "risk_level",
            "summary",
            "follow_up_needed",
            "referral",
        ]
        widgets = {"summary": forms.Textarea(attrs={"rows": 5})}


class AddendumForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Addendum"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class RaiseForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is this a crisis?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=gettext_lazy("No caller names or numbers: supervisors see this on the page."),
    )


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=Escalation.Outcome.choices)
    notes = forms.CharField(
        label=gettext_lazy("Notes"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )
