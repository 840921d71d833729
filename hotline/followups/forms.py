"""The follow-up pages' forms (and the caller's safety answers on the call report)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from hotline.followups.selectors import assignable_volunteers
from hotline.models import FollowUp

YES_NO_UNKNOWN = [
    ("", gettext_lazy("not asked")),
    ("yes", gettext_lazy("yes")),
    ("no", gettext_lazy("no")),
]


def _answer(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class SafetyForm(forms.Form):
    """The caller's own answers, asked before the call ends when a follow-up is needed."""

    safe_to_call = forms.ChoiceField(
        label=gettext_lazy("Safe to call back?"), choices=YES_NO_UNKNOWN, required=False
    )
    safe_to_leave_message = forms.ChoiceField(
        label=gettext_lazy("Safe to leave a message?"), choices=YES_NO_UNKNOWN, required=False
    )
    best_time = forms.CharField(
        label=gettext_lazy("Best time to call"), max_length=200, required=False
    )
    number = forms.CharField(
        label=gettext_lazy("Number to call back (only with the caller's consent)"),
        max_length=20,
        required=False,
    )

    def answers(self) -> dict:
        """The answers given (a field left empty changes nothing on an existing follow-up)."""
        data = self.cleaned_data
        answers = {
            "safe_to_call": _answer(data.get("safe_to_call", "")),
            "safe_to_leave_message": _answer(data.get("safe_to_leave_message", "")),
            "best_time": data.get("best_time", ""),
            "number": data.get("number", ""),
        }
        return {k: v for k, v in answers.items() if v not in (None, "")}


class CompleteForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[
            (FollowUp.Status.DONE, FollowUp.Status.DONE.label),
            (FollowUp.Status.NOT_REACHED, FollowUp.Status.NOT_REACHED.label),
            (FollowUp.Status.CANCELLED, FollowUp.Status.CANCELLED.label),
        ],
    )
    notes = forms.CharField(
        label=gettext_lazy("Outcome notes"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Assign to"),
        queryset=assignable_volunteers(),
        required=False,
        empty_label=gettext_lazy("nobody (back to the queue)"),
    )


class FromEscalationForm(forms.Form):
    due_at = forms.DateTimeField(
        label=gettext_lazy("Due at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Assign to"),
        queryset=assignable_volunteers(),
        required=False,
        empty_label=gettext_lazy("nobody (the queue)"),
    )
    method = forms.ChoiceField(label=gettext_lazy("Method"), choices=FollowUp.Method.choices)
    notes = forms.CharField(
        label=gettext_lazy("What to confirm"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )


class SmsForm(forms.Form):
    """An SMS to the caller, sent from the hotline's number (hotline/followups/messages.py
    checks the length again, for the API alike)."""

    body = forms.CharField(
        label=gettext_lazy("Message"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 300}),
    )
