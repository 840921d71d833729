"""The crisis pages' forms."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy

from hotline.models import (
    CallReport,
    Escalation,
    Resource,
    RiskLevel,
    TaxonomyAction,
    TaxonomyCallerGroup,
    TaxonomyCategory,
)
from hotline.taxonomy.selectors import choices


class ReportForm(forms.ModelForm):
    """The report, with the taxonomy's active entries to choose from (and, on an edit, the
    codes the report already carries, even if deactivated since)."""

    risk_level = forms.TypedChoiceField(
        label=gettext_lazy("Risk level"),
        choices=RiskLevel.choices,
        coerce=int,
        widget=forms.RadioSelect,
    )
    category = forms.ChoiceField(label=gettext_lazy("Category"))
    sub_category = forms.ChoiceField(label=gettext_lazy("Sub-category"), required=False)
    caller_group = forms.ChoiceField(label=gettext_lazy("Caller group"))
    actions = forms.MultipleChoiceField(
        label=gettext_lazy("Actions taken"), required=False, widget=forms.CheckboxSelectMultiple
    )
    referred_resources = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Referred to (directory)"),
        required=False,
        coerce=int,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=gettext_lazy("Anything not in the directory: write it under Referral given."),
    )

    class Meta:
        model = CallReport
        fields = [
            "category",
            "sub_category",
            "caller_group",
            "caller_sex",
            "caller_age_band",
            "risk_level",
            "summary",
            "follow_up_needed",
            "referral",
        ]
        widgets = {"summary": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        report = self.instance if self.instance.pk else None
        had_actions = set(report.actions.values_list("code", flat=True)) if report else set()
        keep = {report.category, report.sub_category, report.caller_group} if report else set()
        self.fields["category"].choices = [("", "—")] + choices(
            TaxonomyCategory, keep=keep, parent__isnull=True
        )
        self.fields["sub_category"].choices = [("", "—")] + choices(
            TaxonomyCategory, keep=keep, parent__isnull=False
        )
        self.fields["caller_group"].choices = [("", "—")] + choices(TaxonomyCallerGroup, keep=keep)
        self.fields["actions"].choices = choices(TaxonomyAction, keep=had_actions)
        had_referrals = (
            set(report.referred_resources.values_list("pk", flat=True)) if report else set()
        )
        self.fields["referred_resources"].choices = [
            (r.pk, f"{r} · {r.get_category_display()}")
            for r in Resource.objects.filter(Q(active=True) | Q(pk__in=had_referrals))
        ]
        if report is not None:
            self.initial.setdefault("actions", sorted(had_actions))
            self.initial.setdefault("referred_resources", sorted(had_referrals))


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
